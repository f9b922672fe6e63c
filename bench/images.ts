// Times the image processor's CPU work for a 12 MP camera-like JPEG (decode, auto-orient, all
// thumbnails in WebP and JPEG, pixel sample, local labels) and reports peak RSS. Each measurement runs
// in a fresh child process so the peak belongs to processing alone (not to generating the input).
//   npx tsx bench/images.ts [runs]
// A second case, the largest accepted input (40 MP, EXIF-rotated), bounds the memory.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';

const WIDTH = 4000;
const HEIGHT = 3000;
const benchDir = path.resolve(__dirname, '..', '.local', 'bench');
const file = path.join(benchDir, `photo-${WIDTH}x${HEIGHT}.jpg`);
// The worst input the processor accepts: just under MAX_IMAGE_PIXELS (40 MP), rotated by EXIF
// (auto-orientation needs the whole decoded image in memory).
const worstFile = path.join(benchDir, 'photo-7300x5475-rotated.jpg');

/** A smooth scene with fine detail and sensor-like noise: compresses like a photo (a few MB at q90). */
async function makePhoto(): Promise<Buffer> {
  const pixels = Buffer.alloc(WIDTH * HEIGHT * 3);
  let seed = 42;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  for (let y = 0; y < HEIGHT; y += 1) {
    for (let x = 0; x < WIDTH; x += 1) {
      const offset = (y * WIDTH + x) * 3;
      const detail = Math.sin(x / 7) * Math.cos(y / 11) * 40;
      const noise = (random() - 0.5) * 24;
      pixels[offset] = Math.max(0, Math.min(255, (x / WIDTH) * 200 + detail + noise));
      pixels[offset + 1] = Math.max(0, Math.min(255, (y / HEIGHT) * 180 + 40 - detail + noise));
      pixels[offset + 2] = Math.max(0, Math.min(255, 120 + Math.sin((x + y) / 300) * 80 + noise));
    }
  }
  return sharp(pixels, { raw: { width: WIDTH, height: HEIGHT, channels: 3 } })
    .withMetadata({ orientation: 1 })
    .jpeg({ quality: 90 })
    .toBuffer();
}

interface Measurement {
  concurrency: number;
  runs: number;
  medianMs: number;
  /** CPU time (user + system, all threads) per image: what the work costs whatever the load. */
  medianCpuMs: number;
  minMs: number;
  maxMs: number;
  baselineRssMb: number;
  peakRssMb: number;
  outputs: number;
}

async function measure(input: string, concurrency: number, runs: number): Promise<Measurement> {
  // Loaded here, not at the top: the parent never loads the processor or its config.
  const { renderImage } = await import('../src/lib/images/render');
  const { localLabels } = await import('../src/lib/images/local-labeller');
  sharp.concurrency(concurrency);
  const body = readFileSync(input);
  const baselineRssMb = process.resourceUsage().maxRSS / 1024;
  const options = { maxBytes: 50_000_000, maxPixels: 40_000_000, sizes: [128, 512, 1024] };
  const once = async () => {
    const started = performance.now();
    const cpu = process.cpuUsage();
    const result = await renderImage(body, options);
    if (result.status !== 'ready') throw new Error(`rejected: ${result.rejection.message}`);
    localLabels(result.image);
    const used = process.cpuUsage(cpu);
    return {
      ms: performance.now() - started,
      cpuMs: (used.user + used.system) / 1000,
      outputs: result.image.thumbnails.length,
    };
  };
  await once(); // warm-up: first use of each codec
  const times: number[] = [];
  const cpuTimes: number[] = [];
  let outputs = 0;
  for (let run = 0; run < runs; run += 1) {
    const result = await once();
    times.push(result.ms);
    cpuTimes.push(result.cpuMs);
    outputs = result.outputs;
  }
  times.sort((a, b) => a - b);
  cpuTimes.sort((a, b) => a - b);
  const round = (value: number) => Math.round(value * 10) / 10;
  return {
    concurrency,
    runs,
    medianMs: round(times[Math.floor(times.length / 2)] ?? 0),
    medianCpuMs: round(cpuTimes[Math.floor(cpuTimes.length / 2)] ?? 0),
    minMs: round(times[0] ?? 0),
    maxMs: round(times.at(-1) ?? 0),
    baselineRssMb: round(baselineRssMb),
    peakRssMb: round(process.resourceUsage().maxRSS / 1024),
    outputs,
  };
}

async function main(): Promise<void> {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === '--child') {
    const result = await measure(String(args[2]), Number(args[0]), Number(args[1]));
    process.stdout.write(JSON.stringify(result));
    return;
  }
  const runs = Number(mode ?? 7);
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, await makePhoto());
  }
  if (!existsSync(worstFile)) {
    writeFileSync(
      worstFile,
      await sharp(readFileSync(file))
        .resize(7300, 5475, { fit: 'fill' })
        .withMetadata({ orientation: 6 })
        .jpeg({ quality: 90 })
        .toBuffer(),
    );
  }
  console.log(`node ${process.version}, sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}`);
  const cases = [
    { label: `${WIDTH}x${HEIGHT} JPEG (12 MP)`, input: file, runs },
    { label: '7300x5475 JPEG (40 MP, EXIF-rotated: worst accepted input)', input: worstFile, runs: 3 },
  ];
  for (const { label, input, runs: count } of cases) {
    console.log(`input: ${label}, ${(readFileSync(input).length / 1e6).toFixed(2)} MB`);
    // Lambda gives a full vCPU at 1769 MB and proportionally less below: the 1-thread rows are the
    // relevant ones for memory sizes up to ~1.8 GB.
    for (const concurrency of [1, 2]) {
      const output = execFileSync(
        process.execPath,
        [...process.execArgv, __filename, '--child', String(concurrency), String(count), input],
        {
          encoding: 'utf8',
          env: process.env,
        },
      );
      const result = JSON.parse(output) as Measurement;
      console.log(
        `  libvips threads ${result.concurrency}: median ${result.medianMs} ms per image, ${result.medianCpuMs} ms CPU (min ${result.minMs}, max ${result.maxMs}, ${result.runs} runs, ${result.outputs} thumbnails); peak RSS ${result.peakRssMb} MB (${result.baselineRssMb} MB before processing)`,
      );
    }
  }
}

main().catch((error: Error) => {
  console.error(error);
  process.exit(1);
});
