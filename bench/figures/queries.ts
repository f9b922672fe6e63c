import path from 'node:path';
import { rangeLines, renderChart } from '../lib/charts';
import type { Figure } from '../lib/figure';
import { windowPath } from '../lib/readings';
import type { Shared } from '../lib/shared';
import { fmt, percentile, range } from '../lib/stats';
import { runWorker } from '../lib/workers';
import type { SeedInput, SeedLayout, SeedOutput } from '../workers/seed';

// Figure 4: latency of a 1,000-row window as the device's stored rows grow 10k → 100k → 1M, for both
// storage layouts side by side on the same DynamoDB Local: one item per reading (the original
// iot-sensor-framework's pattern, one row per reading, and ours before issue 13) and chunks of 100
// readings. Rows are seeded straight into DynamoDB Local in the consumer's item format, sealed under a
// real data key, so each query reads, decrypts and returns 1,000 real rows through the API.

const WINDOW = 1_000;
/** The 1,000-row window of the committed sample report, before chunks (docs/benchmarks.md). */
const SAMPLE_WINDOW_MS = 236;
const LAYOUTS: Array<{ layout: SeedLayout; label: string }> = [
  { layout: 'rows', label: 'one item per reading (original pattern)' },
  { layout: 'chunks', label: 'chunks of 100 readings' },
];

export const queriesFigure: Figure<Shared> = async (ctx) => {
  const levels = ctx.quick ? [1_000, 2_000, 3_000] : [10_000, 100_000, 1_000_000];
  const samples = ctx.quick ? 5 : 25;
  const seeding: Array<{ layout: SeedLayout; rows: number; seconds: number }> = [];
  const results: Array<{ layout: SeedLayout; rows: number; latencies: number[] }> = [];
  for (const { layout } of LAYOUTS) {
    const device = await ctx.registerDevice(`bench queries ${layout}`);
    let seeded = 0;
    for (const level of levels) {
      const seed = await runWorker<SeedInput, SeedOutput>(
        'seed',
        { layout, deviceId: device.deviceId, from: seeded, count: level - seeded, concurrency: 32 },
        { env: ctx.env, logFile: path.join(ctx.logsDir, 'seed.log'), log: ctx.log },
      );
      seeding.push({ layout, ...seed });
      seeded = level;
      ctx.log(
        `  ${layout}: seeded to ${level.toLocaleString('en-US')} readings (${fmt(seed.rows / seed.seconds)} readings/s)`,
      );
      const query = async () => {
        const start = Math.floor(Math.random() * (level - WINDOW + 1));
        const started = performance.now();
        const response = await fetch(`${ctx.apiUrl}/api/iot${windowPath(start, WINDOW)}?limit=${WINDOW}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${device.token}`, 'content-type': 'application/json' },
        });
        const body = (await response.json()) as { data?: unknown[] };
        const elapsed = performance.now() - started;
        if (response.status !== 200 || body.data?.length !== WINDOW)
          throw new Error(`window query answered ${response.status} with ${body.data?.length ?? 0} rows`);
        return elapsed;
      };
      for (let index = 0; index < (ctx.quick ? 1 : 3); index += 1) await query();
      const latencies: number[] = [];
      for (let index = 0; index < samples; index += 1) latencies.push(await query());
      results.push({ layout, rows: level, latencies });
      ctx.log(
        `  ${layout}: 1,000-row window at ${level.toLocaleString('en-US')} readings: median ${fmt(range(latencies).median)} ms`,
      );
    }
  }
  const perLevel = results.filter((result) => result.layout === 'chunks');
  const rowsLayout = results.filter((result) => result.layout === 'rows');
  const medianAt = (list: typeof results, index: number) => {
    const entry = index < 0 ? list.at(index) : list[index];
    return entry ? range(entry.latencies).median : Number.NaN;
  };
  const speedup = medianAt(rowsLayout, -1) / medianAt(perLevel, -1);
  const speedupVsSample = SAMPLE_WINDOW_MS / medianAt(perLevel, 0);
  const seedRate = (layout: SeedLayout) => {
    const entries = seeding.filter((entry) => entry.layout === layout);
    return (
      entries.reduce((sum, entry) => sum + entry.rows, 0) /
      entries.reduce((sum, entry) => sum + entry.seconds, 0)
    );
  };
  const first = perLevel[0];
  const last = perLevel.at(-1);
  const base = first ? range(first.latencies).median : Number.NaN;
  const top = last ? range(last.latencies).median : Number.NaN;
  const ratio = top / base;
  const chart = await renderChart(
    ctx.outDir,
    'queries',
    rangeLines(
      results.map((level) => ({
        x: level.rows,
        series: LAYOUTS.find((entry) => entry.layout === level.layout)?.label ?? level.layout,
        ...range(level.latencies),
      })),
      {
        title: 'Queries: a 1,000-row window vs rows stored',
        subtitle: `POST /api/iot/{start}/{end}?limit=1000 at random positions, ${samples} queries per size and layout, one device per layout holding all rows; medians, bars min–max`,
        xTitle: 'rows stored for the device',
        yTitle: 'ms per query',
        xLog: true,
        rules: [{ y: base * 1.5, label: `target: 1.5 × ${fmt(base)} ms` }],
      },
    ),
  );
  return {
    key: 'queries',
    title: '4. Queries',
    headline: [
      `Queries: 1,000-row window in ${fmt(base)} ms at ${levels[0]?.toLocaleString('en-US')} readings and ${fmt(top)} ms at ${levels.at(-1)?.toLocaleString('en-US')} (×${fmt(ratio)}), chunks; one item per reading: ${fmt(medianAt(rowsLayout, -1))} ms (chunks ×${fmt(speedup)} faster)`,
      `Storage layouts on the same DynamoDB Local: seeding ${fmt(seedRate('rows'))} readings/s as one item per reading vs ${fmt(seedRate('chunks'))} readings/s as chunks (×${fmt(seedRate('chunks') / seedRate('rows'))})`,
    ],
    targets: [
      {
        name: `Query latency at ${levels.at(-1)?.toLocaleString('en-US')} rows vs ${levels[0]?.toLocaleString('en-US')}`,
        target: '≤ 1.5×',
        measured: `×${fmt(ratio)} (${fmt(top)} ms vs ${fmt(base)} ms, medians)`,
        met: ratio <= 1.5,
      },
      {
        name: `1,000-row window (chunks, ${levels[0]?.toLocaleString('en-US')} readings stored) vs the sample before chunks (${SAMPLE_WINDOW_MS} ms)`,
        target: '≥ 3× faster',
        measured: `×${fmt(speedupVsSample)} (${fmt(base)} ms); ×${fmt(speedup)} vs one item per reading in this run`,
        met: speedupVsSample >= 3,
      },
    ],
    data: { levels, samples, seeding, results },
    write: (report) => {
      report
        .paragraph(
          `For each layout, one device's readings are seeded in steps to ${levels.map((level) => level.toLocaleString('en-US')).join(', ')} (BatchWriteItem straight into DynamoDB Local, the consumer's item format, sealed under a real data key):`,
          'one item per reading (the original service stores one SQLite row per reading; so did we before chunks), and chunks of 100 readings (what a 100-reading request becomes).',
          `At each size, ${samples} windows of ${WINDOW.toLocaleString('en-US')} consecutive relative times at random positions are queried through the API after warm-up;`,
          "each returns 1,000 decrypted rows. A window is one Query on the table's sort key, so its cost should not depend on what else is stored.",
        )
        .image('Query latency', chart.png, chart.svg)
        .table(
          ['layout', 'readings stored', 'median ms', 'p95 ms', 'min ms', 'max ms', 'seeding readings/s'],
          results.map((level, index) => {
            const summary = range(level.latencies);
            const seed = seeding[index];
            return [
              level.layout,
              level.rows.toLocaleString('en-US'),
              fmt(summary.median),
              fmt(percentile(level.latencies, 95)),
              fmt(summary.min),
              fmt(summary.max),
              seed ? fmt(seed.rows / seed.seconds) : '–',
            ];
          }),
        );
    },
  };
};
