import path from 'node:path';
import type { Figure } from '../lib/figure';
import type { Shared } from '../lib/shared';
import { fmt, percentile, range } from '../lib/stats';
import { runWorker } from '../lib/workers';
import type { SeedAggregatesInput, SeedAggregatesOutput } from '../workers/seed-aggregates';

// Aggregates: one field's summaries of 1,000,000 readings over a week (≈ 100 per minute), seeded as
// compaction leaves them; then `GET /api/iot/aggregates?step=1h` over that week through the API
// (168 buckets from the week's 8 day summaries, decrypted and merged).

const WEEK_MS = 7 * 86_400_000;
const TARGET_MS = 300;

export const aggregatesFigure: Figure<Shared> = async (ctx) => {
  const readings = ctx.quick ? 100_000 : 1_000_000;
  const samples = ctx.quick ? 5 : 25;
  const device = await ctx.registerDevice('bench aggregates');
  const to = Date.now() - (Date.now() % 3_600_000);
  const from = to - WEEK_MS;
  const perMinute = Math.ceil(readings / (WEEK_MS / 60_000));
  const seed = await runWorker<SeedAggregatesInput, SeedAggregatesOutput>(
    'seed-aggregates',
    { deviceId: device.deviceId, field: 'env.temperature', from, readings, perMinute },
    { env: ctx.env, logFile: path.join(ctx.logsDir, 'seed-aggregates.log'), log: ctx.log },
  );
  ctx.log(`  seeded ${seed.items} summary items for ${readings.toLocaleString('en-US')} readings`);
  const url = `${ctx.apiUrl}/api/iot/aggregates?field=env.temperature&from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}&step=1h`;
  const query = async () => {
    const started = performance.now();
    const response = await fetch(url, { headers: { authorization: `Bearer ${device.token}` } });
    const body = (await response.json()) as { data?: Array<{ count: number }> };
    const elapsed = performance.now() - started;
    const total = body.data?.reduce((sum, bucket) => sum + bucket.count, 0);
    if (response.status !== 200 || total !== readings)
      throw new Error(`aggregates answered ${response.status} counting ${total} of ${readings} readings`);
    return elapsed;
  };
  for (let index = 0; index < 3; index += 1) await query();
  const latencies: number[] = [];
  for (let index = 0; index < samples; index += 1) latencies.push(await query());
  const summary = range(latencies);
  const p95 = percentile(latencies, 95);
  const label = `${readings.toLocaleString('en-US')} readings`;
  return {
    key: 'aggregates',
    title: '9. Aggregates',
    headline: [`Aggregates: a week at 1h over ${label} in ${fmt(summary.median)} ms (median)`],
    targets: [
      {
        name: `Aggregate over ${label} at 1h for a week`,
        target: `≤ ${TARGET_MS} ms`,
        measured: `${fmt(summary.median)} ms median, ${fmt(p95)} ms p95`,
        met: summary.median <= TARGET_MS,
      },
    ],
    data: { readings, samples, seed, latencies },
    write: (report) => {
      report
        .paragraph(
          `One field of one device: ${label} over 7 days (${perMinute} per minute), seeded as compaction leaves them`,
          `(${seed.items} sealed items: hour and day summaries and the catalogue entry, written with src/lib/aggregates' own functions).`,
          `Then ${samples} queries of the whole week at step 1h (168 buckets) through the API after warm-up: each reads the week's day summaries`,
          'and the (here: no) pending partials, decrypts and merges them.',
        )
        .table(
          ['median ms', 'p95 ms', 'min ms', 'max ms'],
          [[fmt(summary.median), fmt(p95), fmt(summary.min), fmt(summary.max)]],
        );
    },
  };
};
