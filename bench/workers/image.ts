import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { median } from '../lib/stats';
import { serveWorker } from '../lib/workers';

// One fresh process per measurement, so its peak RSS belongs to this image alone. Uses the platform's
// image pipeline (src/lib/images) when the branch has it; otherwise sharp doing the same thumbnail set.

export interface ImageInput {
  file: string;
  sizes: number[];
  iterations: number;
}

export interface ImageOutput {
  pipeline: string;
  ms: number;
  baselineRssMb: number;
  peakRssMb: number;
  outputs: number;
}

type Render = (body: Buffer) => Promise<number>;

/**
 * Resident memory in MB from /proc/self/status: VmHWM (peak) or VmRSS (now). Not getrusage's
 * maxRSS: on Linux that survives exec, so a forked child reports its parent's peak.
 */
function memoryMb(field: 'VmHWM' | 'VmRSS'): number {
  try {
    const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'));
    if (match?.[1]) return Number(match[1]) / 1024;
  } catch {
    // Not Linux: fall back below.
  }
  return field === 'VmHWM' ? process.resourceUsage().maxRSS / 1024 : process.memoryUsage().rss / 1024 ** 2;
}

const renderModule = path.resolve(__dirname, '..', '..', 'src', 'lib', 'images', 'render.ts');

async function platformRenderer(sizes: number[]): Promise<{ name: string; render: Render } | undefined> {
  if (!existsSync(renderModule)) return undefined;
  // Resolved at run time: the images pipeline lands on main separately from the bench.
  const { renderImage } = (await import(renderModule)) as {
    renderImage: (
      body: Buffer,
      options: { maxBytes: number; maxPixels: number; sizes: readonly number[] },
    ) => Promise<{ status: string; image?: { thumbnails: unknown[] } }>;
  };
  return {
    name: 'src/lib/images renderImage',
    render: async (body) => {
      const result = await renderImage(body, { maxBytes: 200_000_000, maxPixels: 100_000_000, sizes });
      if (result.status !== 'ready' || !result.image) throw new Error('the image was rejected');
      return result.image.thumbnails.length;
    },
  };
}

/** Decode once at the largest size (shrink-on-load), then every size as JPEG and WebP. */
function sharpRenderer(sizes: number[]): { name: string; render: Render } {
  const ordered = [...sizes].sort((a, b) => b - a);
  return {
    name: 'sharp (no src/lib/images on this branch)',
    render: async (body) => {
      const largest = ordered[0] ?? 1024;
      const master = await sharp(body)
        .autoOrient()
        .resize(largest, largest, { fit: 'inside', withoutEnlargement: true })
        .removeAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true });
      const raw = { raw: { width: master.info.width, height: master.info.height, channels: 3 as const } };
      let outputs = 0;
      for (const size of ordered) {
        const resized = () =>
          sharp(master.data, raw).resize(size, size, { fit: 'inside', withoutEnlargement: true });
        await Promise.all([
          resized().jpeg({ quality: 80 }).toBuffer(),
          resized().webp({ quality: 80, effort: 2 }).toBuffer(),
        ]);
        outputs += 2;
      }
      return outputs;
    },
  };
}

serveWorker<ImageInput, ImageOutput>(async (input) => {
  const renderer = (await platformRenderer(input.sizes)) ?? sharpRenderer(input.sizes);
  const body = readFileSync(input.file);
  const baselineRssMb = memoryMb('VmHWM');
  const times: number[] = [];
  let outputs = 0;
  // The first image in a process is timed too: a Lambda container often handles just one.
  for (let index = 0; index < input.iterations; index += 1) {
    const started = performance.now();
    outputs = await renderer.render(body);
    times.push(performance.now() - started);
  }
  return {
    pipeline: renderer.name,
    ms: median(times),
    baselineRssMb,
    peakRssMb: memoryMb('VmHWM'),
    outputs,
  };
});
