import { readFileSync } from 'node:fs';
import { median } from '../lib/stats';
import { serveWorker } from '../lib/workers';

// One fresh process per measurement, so its peak memory belongs to this image alone: the platform's
// own pipeline (src/lib/images renderImage: validate, decode once, every thumbnail size in WebP and
// JPEG, the pixel sample) with the limits and sizes of the deployed configuration.

export interface ImageInput {
  file: string;
  iterations: number;
}

export interface ImageOutput {
  ms: number;
  baselineRssMb: number;
  peakRssMb: number;
  outputs: number;
  sizes: number[];
}

/**
 * Resident memory in MB from /proc/self/status: VmHWM (peak). Not getrusage's maxRSS: on Linux that
 * survives exec, so a forked child would report its parent's peak.
 */
function peakMb(): number {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match?.[1]) return Number(match[1]) / 1024;
  } catch {
    // Not Linux: fall back below.
  }
  return process.resourceUsage().maxRSS / 1024;
}

serveWorker<ImageInput, ImageOutput>(async (input) => {
  const { config } = await import('../../src/lib/config');
  const { renderImage } = await import('../../src/lib/images/render');
  const options = {
    maxBytes: config.MAX_UPLOAD_BYTES,
    maxPixels: config.MAX_IMAGE_PIXELS,
    sizes: config.THUMBNAIL_SIZES,
  };
  const body = readFileSync(input.file);
  const baselineRssMb = peakMb();
  const times: number[] = [];
  let outputs = 0;
  // The first image in a process is timed too: a Lambda container often handles just one.
  for (let index = 0; index < input.iterations; index += 1) {
    const started = performance.now();
    const result = await renderImage(body, options);
    times.push(performance.now() - started);
    if (result.status !== 'ready') throw new Error(`rejected: ${result.rejection.message}`);
    outputs = result.image.thumbnails.length;
  }
  return {
    ms: median(times),
    baselineRssMb,
    peakRssMb: peakMb(),
    outputs,
    sizes: [...config.THUMBNAIL_SIZES],
  };
});
