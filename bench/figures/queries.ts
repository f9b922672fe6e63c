import path from 'node:path';
import { rangeLines, renderChart } from '../lib/charts';
import type { Figure } from '../lib/figure';
import type { Shared } from '../lib/shared';
import { fmt, percentile, range } from '../lib/stats';
import { runWorker } from '../lib/workers';
import type { SeedInput, SeedOutput } from '../workers/seed';

// Figure 4: latency of a 1,000-row window as the device's stored rows grow 10k → 100k → 1M. Rows are
// seeded straight into DynamoDB Local in the consumer's item format, sealed under a real data key, so
// each query reads, decrypts and returns 1,000 real rows through the API.

const WINDOW = 1_000;

export const queriesFigure: Figure<Shared> = async (ctx, shared) => {
  const levels = ctx.quick ? [1_000, 2_000, 3_000] : [10_000, 100_000, 1_000_000];
  const samples = ctx.quick ? 5 : 25;
  const device = await ctx.registerDevice('bench queries');
  const seeding: Array<{ rows: number; seconds: number }> = [];
  const perLevel: Array<{ rows: number; latencies: number[] }> = [];
  let seeded = 0;
  for (const level of levels) {
    const seed = await runWorker<SeedInput, SeedOutput>(
      'seed',
      { deviceId: device.deviceId, from: seeded, count: level - seeded, concurrency: 32 },
      { env: ctx.env, logFile: path.join(ctx.logsDir, 'seed.log'), log: ctx.log },
    );
    seeding.push(seed);
    seeded = level;
    ctx.log(`  seeded to ${level.toLocaleString('en-US')} rows (${fmt(seed.rows / seed.seconds)} rows/s)`);
    const query = async () => {
      const start = Math.floor(Math.random() * (level - WINDOW + 1));
      const started = performance.now();
      const response = await fetch(`${ctx.apiUrl}/api/iot/${start}/${start + WINDOW - 1}?limit=${WINDOW}`, {
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
    perLevel.push({ rows: level, latencies });
    ctx.log(
      `  1,000-row window at ${level.toLocaleString('en-US')} rows: median ${fmt(range(latencies).median)} ms`,
    );
  }

  shared.seededDevice = { deviceId: device.deviceId, rows: seeded };
  const first = perLevel[0];
  const last = perLevel.at(-1);
  const base = first ? range(first.latencies).median : Number.NaN;
  const top = last ? range(last.latencies).median : Number.NaN;
  const ratio = top / base;
  const chart = await renderChart(
    ctx.outDir,
    'queries',
    rangeLines(
      perLevel.flatMap((level) => {
        const summary = range(level.latencies);
        const p95 = percentile(level.latencies, 95);
        return [
          { x: level.rows, series: 'median (bars: min–max)', ...summary },
          { x: level.rows, series: 'p95', median: p95, min: p95, max: p95 },
        ];
      }),
      {
        title: 'Queries: a 1,000-row window vs rows stored',
        subtitle: `POST /api/iot/{start}/{end}?limit=1000 at random positions, ${samples} queries per size, one device holding all rows`,
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
      `Queries: 1,000-row window in ${fmt(base)} ms at ${levels[0]?.toLocaleString('en-US')} rows and ${fmt(top)} ms at ${levels.at(-1)?.toLocaleString('en-US')} rows (×${fmt(ratio)})`,
    ],
    targets: [
      {
        name: `Query latency at ${levels.at(-1)?.toLocaleString('en-US')} rows vs ${levels[0]?.toLocaleString('en-US')}`,
        target: '≤ 1.5×',
        measured: `×${fmt(ratio)} (${fmt(top)} ms vs ${fmt(base)} ms, medians)`,
        met: ratio <= 1.5,
      },
    ],
    data: { levels, samples, seeding, perLevel },
    write: (report) => {
      report
        .paragraph(
          `One device's rows are seeded in steps to ${levels.map((level) => level.toLocaleString('en-US')).join(', ')} (BatchWriteItem straight into DynamoDB Local, the consumer's item format, sealed under a real data key).`,
          `At each size, ${samples} windows of ${WINDOW.toLocaleString('en-US')} consecutive relative times at random positions are queried through the API after warm-up;`,
          "each returns 1,000 decrypted rows. A window is one Query on the table's sort key, so its cost should not depend on what else is stored.",
        )
        .image('Query latency', chart.png, chart.svg)
        .table(
          ['rows stored', 'median ms', 'p95 ms', 'min ms', 'max ms', 'seeding rows/s'],
          perLevel.map((level, index) => {
            const summary = range(level.latencies);
            const seed = seeding[index];
            return [
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
