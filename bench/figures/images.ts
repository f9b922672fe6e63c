import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { projectRoot } from '../../scripts/local/service-config';
import { rangeBars, renderChart } from '../lib/charts';
import type { Figure } from '../lib/figure';
import type { Shared } from '../lib/shared';
import { fmt, fmtRange, type Range, range } from '../lib/stats';
import { runWorker } from '../lib/workers';
import type { ImageInput, ImageOutput } from '../workers/image';

// Figure 6: ms per image (all thumbnails) and peak memory vs megapixels, and — when the machine has
// them — vipsthumbnail and ImageMagick doing the same resize, side by side. Never invented: a tool
// that is not installed is reported as such.

interface Input {
  name: string;
  format: 'jpeg' | 'png';
  width: number;
  height: number;
}

const INPUTS: Input[] = [
  { name: '1 MP JPEG', format: 'jpeg', width: 1152, height: 864 },
  { name: '12 MP JPEG', format: 'jpeg', width: 4000, height: 3000 },
  { name: '24 MP JPEG', format: 'jpeg', width: 6000, height: 4000 },
  { name: '2 MP PNG', format: 'png', width: 1920, height: 1080 },
];

/** A photo-like test image: smooth scene, fine detail and sensor noise, deterministic. */
async function makeImage(input: Input, file: string): Promise<void> {
  const { width, height } = input;
  const pixels = Buffer.alloc(width * height * 3);
  let seed = 12_345;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const offset = (y * width + x) * 3;
      const detail = Math.sin(x / 9) * Math.cos(y / 13) * 35;
      const noise = (random() - 0.5) * 20;
      pixels[offset] = Math.max(0, Math.min(255, (x / width) * 200 + detail + noise));
      pixels[offset + 1] = Math.max(0, Math.min(255, (y / height) * 180 + 40 - detail + noise));
      pixels[offset + 2] = Math.max(0, Math.min(255, 120 + Math.sin((x + y) / 300) * 80 + noise));
    }
  }
  const image = sharp(pixels, { raw: { width, height, channels: 3 } });
  const encoded =
    input.format === 'jpeg'
      ? await image.jpeg({ quality: 90 }).toBuffer()
      : await image.png({ compressionLevel: 6 }).toBuffer();
  writeFileSync(file, encoded);
}

interface Tool {
  name: string;
  /** The command for one resize of `file` to a `size` long edge. */
  command: (file: string, size: number, out: string) => [string, string[]];
}

function detectTools(): { tools: Tool[]; missing: string[] } {
  const tools: Tool[] = [];
  const missing: string[] = [];
  const vips = spawnSync('vipsthumbnail', ['--version'], { encoding: 'utf8' });
  if (vips.status === 0) {
    tools.push({
      name: `vipsthumbnail (${vips.stdout.trim()})`,
      command: (file, size, out) => [
        'vipsthumbnail',
        [file, '--size', String(size), '-o', `${out}.jpg[Q=80]`],
      ],
    });
  } else missing.push('vipsthumbnail');
  // /usr/local/bin/convert may be a stand-in that only converts PNGs: require ImageMagick's banner.
  const magick = spawnSync('convert', ['-version'], { encoding: 'utf8' });
  const version = /ImageMagick [\d.-]+/.exec(magick.stdout ?? '')?.[0];
  if (magick.status === 0 && version) {
    tools.push({
      name: `${version} convert`,
      command: (file, size, out) => [
        'convert',
        [
          ...(file.endsWith('.jpg') ? ['-define', `jpeg:size=${size * 2}x${size * 2}`] : []),
          file,
          '-auto-orient',
          '-thumbnail',
          `${size}x${size}`,
          '-quality',
          '80',
          `${out}.jpg`,
        ],
      ],
    });
  } else missing.push('ImageMagick convert');
  return { tools, missing };
}

const hasTime = existsSync('/usr/bin/time');

/** Wall ms and (with /usr/bin/time) peak RSS of one external command. */
function runTool(command: [string, string[]]): { ms: number; peakMb?: number } {
  const [bin, args] = command;
  const started = performance.now();
  const result = hasTime
    ? spawnSync('/usr/bin/time', ['-f', 'peak-kb=%M', bin, ...args], { encoding: 'utf8' })
    : spawnSync(bin, args, { encoding: 'utf8' });
  const ms = performance.now() - started;
  if (result.status !== 0) throw new Error(`${bin} failed: ${result.stderr}`);
  const peak = /peak-kb=(\d+)/.exec(result.stderr ?? '')?.[1];
  return { ms, peakMb: peak ? Number(peak) / 1024 : undefined };
}

export const imagesFigure: Figure<Shared> = async (ctx) => {
  const runs = ctx.quick ? 1 : 3;
  const iterations = ctx.quick ? 1 : 3;
  const inputs = ctx.quick ? INPUTS.filter((input) => input.name !== '24 MP JPEG') : INPUTS;
  let sizes: number[] = [];
  const dir = path.join(projectRoot, '.local', 'bench', 'images');
  mkdirSync(dir, { recursive: true });
  const files = new Map<string, string>();
  for (const input of inputs) {
    const file = path.join(dir, `${input.width}x${input.height}.${input.format === 'jpeg' ? 'jpg' : 'png'}`);
    if (!existsSync(file)) await makeImage(input, file);
    files.set(input.name, file);
  }

  interface Row {
    input: Input;
    megapixels: number;
    bytes: number;
    ms: Range;
    peakMb: Range;
    baselineMb: Range;
    outputs: number;
    tools: Array<{ name: string; largest: Range; all: Range; peakMb?: Range }>;
  }
  const { tools, missing } = detectTools();
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'sensorcloud-bench-img-'));
  const rows: Row[] = [];
  try {
    for (const input of inputs) {
      const file = files.get(input.name) as string;
      const outputs: ImageOutput[] = [];
      for (let run = 0; run < runs; run += 1) {
        outputs.push(
          await runWorker<ImageInput, ImageOutput>(
            'image',
            { file, iterations },
            { env: ctx.env, logFile: path.join(ctx.logsDir, 'images.log') },
          ),
        );
      }
      sizes = outputs[0]?.sizes ?? [];
      const largest = Math.max(...sizes);
      const toolRows = tools.map((tool) => {
        const largestTimes: number[] = [];
        const allTimes: number[] = [];
        const peaks: number[] = [];
        // As many calls as the platform has processes; quick mode only the largest size, once.
        for (let run = 0; run < (ctx.quick ? 1 : runs); run += 1) {
          const one = runTool(tool.command(file, largest, path.join(scratch, `l${run}`)));
          largestTimes.push(one.ms);
          if (one.peakMb !== undefined) peaks.push(one.peakMb);
          if (ctx.quick) continue;
          let all = 0;
          for (const size of sizes)
            all += runTool(tool.command(file, size, path.join(scratch, `a${run}-${size}`))).ms;
          allTimes.push(all);
        }
        return {
          name: tool.name,
          largest: range(largestTimes),
          all: range(allTimes),
          peakMb: peaks.length ? range(peaks) : undefined,
        };
      });
      const row: Row = {
        input,
        megapixels: (input.width * input.height) / 1e6,
        bytes: Number(execFileSync('stat', ['-c', '%s', file], { encoding: 'utf8' })),
        ms: range(outputs.map((output) => output.ms)),
        peakMb: range(outputs.map((output) => output.peakRssMb)),
        baselineMb: range(outputs.map((output) => output.baselineRssMb)),
        outputs: outputs[0]?.outputs ?? 0,
        tools: toolRows,
      };
      rows.push(row);
      ctx.log(`  ${input.name}: ${fmt(row.ms.median)} ms, peak ${fmt(row.peakMb.median)} MB`);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }

  const largest = Math.max(...sizes);
  const timeChart = await renderChart(
    ctx.outDir,
    'images-time',
    rangeBars(
      rows.flatMap((row) => [
        { x: row.input.name, series: `platform: all ${row.outputs} thumbnails`, ...row.ms },
        ...row.tools.flatMap((tool) => [
          { x: row.input.name, series: `${tool.name.split(' ')[0]}: ${largest} px only`, ...tool.largest },
          ...(tool.all.runs
            ? [
                {
                  x: row.input.name,
                  series: `${tool.name.split(' ')[0]}: ${sizes.length} sizes`,
                  ...tool.all,
                },
              ]
            : []),
        ]),
      ]),
      {
        title: 'Images: milliseconds per image',
        subtitle: `renderImage, thumbnails ${sizes.join('/')} px in WebP + JPEG; median of ${runs} fresh processes (bars: min–max)`,
        xTitle: '',
        yTitle: 'ms per image',
        yLog: true,
      },
    ),
  );
  const memoryChart = await renderChart(
    ctx.outDir,
    'images-memory',
    rangeBars(
      rows.flatMap((row) => [
        { x: row.input.name, series: 'platform: peak RSS', ...row.peakMb },
        { x: row.input.name, series: 'platform: peak RSS before the image', ...row.baselineMb },
        ...row.tools
          .filter((tool) => tool.peakMb)
          .map((tool) => ({
            x: row.input.name,
            series: `${tool.name.split(' ')[0]}: peak RSS (${largest} px)`,
            ...(tool.peakMb as Range),
          })),
      ]),
      {
        title: 'Images: peak memory per image',
        subtitle:
          'process peak RSS (Node + libvips for the platform); external tools measured with /usr/bin/time',
        xTitle: '',
        yTitle: 'MB',
      },
    ),
  );

  const twelve = rows.find((row) => row.input.name === '12 MP JPEG');
  const vips = twelve?.tools.find((tool) => tool.name.startsWith('vipsthumbnail'));
  const ratio = twelve && vips ? twelve.ms.median / vips.largest.median : Number.NaN;
  return {
    key: 'images',
    title: '6. Images',
    headline: [
      `Images: 12 MP JPEG → ${twelve?.outputs ?? '?'} thumbnails in ${fmt(twelve?.ms.median ?? Number.NaN)} ms, peak ${fmt(twelve?.peakMb.median ?? Number.NaN)} MB${vips ? ` (vipsthumbnail, ${largest} px only: ${fmt(vips.largest.median)} ms)` : ''}`,
    ],
    targets: [
      {
        name: `12 MP JPEG → all thumbnails vs vipsthumbnail at ${largest} px`,
        target: '≤ 1.3×',
        measured: vips
          ? `×${fmt(ratio)} (${fmt(twelve?.ms.median ?? Number.NaN)} ms vs ${fmt(vips.largest.median)} ms)`
          : 'not measured: vipsthumbnail is not installed',
        met: vips ? ratio <= 1.3 : null,
      },
    ],
    data: { sizes, runs, iterations, rows, missingTools: missing },
    write: (report) => {
      report
        .paragraph(
          `Test images are synthetic but photo-like (smooth scene, fine detail, sensor noise; JPEG q90), generated once into \`.local/bench/images/\`.`,
          `The platform's pipeline is \`renderImage\` (src/lib/images, what the process-image function runs): validation, one decode, every configured size (\`THUMBNAIL_SIZES\`: ${sizes.join(', ')} px long edge) in WebP and JPEG, and the labeller's pixel sample. Labelling and S3 transfers are not included.`,
          `Each measurement is a fresh Node process (${iterations} image(s) each, median), ${runs} processes per input; peak memory is the process's peak RSS (VmHWM), Node and sharp included — the peak before the image shows that fixed part.`,
        )
        .image('Image time', timeChart.png, timeChart.svg)
        .image('Image memory', memoryChart.png, memoryChart.svg)
        .table(
          [
            'input',
            'file',
            'platform ms',
            'peak RSS MB',
            'peak RSS before MB',
            ...tools.flatMap((tool) => [
              `${tool.name}: ${largest} px ms`,
              `${sizes.length} sizes ms`,
              'peak MB',
            ]),
          ],
          rows.map((row) => [
            row.input.name,
            `${(row.bytes / 1e6).toFixed(1)} MB`,
            fmtRange(row.ms),
            fmtRange(row.peakMb),
            fmt(row.baselineMb.median),
            ...row.tools.flatMap((tool) => [
              fmtRange(tool.largest),
              fmtRange(tool.all),
              tool.peakMb ? fmt(tool.peakMb.median) : '–',
            ]),
          ]),
        )
        .paragraph(
          missing.length
            ? `Not installed on this machine, so not measured: ${missing.join(', ')} (Debian: \`apt-get install libvips-tools imagemagick\`).`
            : 'External tools write one JPEG (q80) per call and run once per size for the "sizes" column, each decoding the original again; vipsthumbnail and ImageMagick use shrink-on-load for JPEG as the platform does. Their times are whole commands, process start included, as a user would time them; the platform\'s are in a warm process.',
        );
    },
  };
};
