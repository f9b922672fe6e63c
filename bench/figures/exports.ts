import path from 'node:path';
import type { Figure } from '../lib/figure';
import type { Shared } from '../lib/shared';
import { fmt } from '../lib/stats';
import { runWorker } from '../lib/workers';
import type { ExportInput, ExportOutput } from '../workers/export';
import type { SeedInput, SeedOutput } from '../workers/seed';

// Figure: one device's readings exported as CSV and as Parquet, each in a fresh process running the
// export worker's code against DynamoDB Local and the S3 emulator: time and peak memory (the issue's
// target: 1,000,000 readings in ≤ 3 minutes with ≤ 256 MB). Readings are seeded straight into DynamoDB
// Local as the consumer stores them (chunks of 100), sealed under a real data key, in two steps.

const TARGET_SECONDS = 180;
const TARGET_MB = 256;

export const exportsFigure: Figure<Shared> = async (ctx) => {
  // Seeded and exported in steps: time should grow with the rows, peak memory should not.
  const levels = ctx.quick ? [1_000, 3_000] : [100_000, 1_000_000];
  const rows = levels.at(-1) as number;
  const results: Array<ExportOutput & { format: ExportInput['format'] }> = [];
  const exportAll = async (deviceId: string, expected: number) => {
    for (const format of ['parquet', 'csv'] as const) {
      const result = await runWorker<ExportInput, ExportOutput>(
        'export',
        { deviceId, format },
        { env: ctx.env, logFile: path.join(ctx.logsDir, 'export.log'), log: ctx.log },
      );
      if (result.rows !== expected)
        throw new Error(`the ${format} export held ${result.rows} rows, not ${expected}`);
      results.push({ format, ...result });
      ctx.log(
        `  ${format}: ${expected.toLocaleString('en-US')} rows in ${fmt(result.seconds)} s, peak RSS ${fmt(result.peakRssMb)} MB`,
      );
    }
  };
  const { deviceId } = await ctx.registerDevice('bench exports');
  let seeded = 0;
  for (const level of levels) {
    const seed = await runWorker<SeedInput, SeedOutput>(
      'seed',
      { layout: 'chunks', deviceId, from: seeded, count: level - seeded, concurrency: 32 },
      { env: ctx.env, logFile: path.join(ctx.logsDir, 'seed.log'), log: ctx.log },
    );
    seeded = level;
    ctx.log(`  seeded to ${level.toLocaleString('en-US')} rows (${fmt(seed.rows / seed.seconds)} rows/s)`);
    await exportAll(deviceId, level);
  }
  const top = results.filter((result) => result.rows === rows);
  const label = `${rows.toLocaleString('en-US')} readings`;
  return {
    key: 'exports',
    title: '9. Exports',
    headline: top.map(
      (result) =>
        `Export of ${label} as ${result.format}: ${fmt(result.seconds)} s, peak RSS ${fmt(result.peakRssMb)} MB (${fmt(result.rows / result.seconds)} rows/s)`,
    ),
    targets: ctx.quick
      ? []
      : top.flatMap((result) => [
          {
            name: `export time, ${result.format}`,
            target: `1,000,000 readings ≤ ${TARGET_SECONDS} s`,
            measured: `${fmt(result.seconds)} s`,
            met: result.seconds <= TARGET_SECONDS,
          },
          {
            name: `export peak memory, ${result.format}`,
            target: `≤ ${TARGET_MB} MB`,
            measured: `${fmt(result.peakRssMb)} MB`,
            met: result.peakRssMb <= TARGET_MB,
          },
        ]),
    data: { rows, results },
    write: (report) => {
      report
        .paragraph(
          `One device holding up to ${label} (seeded straight into DynamoDB Local as the consumer stores them, chunks of 100 readings sealed under a real data key), exported whole at each size, once per format, each in a fresh Node process running the export worker's code (src/lib/exports/run.ts): the query API's pages of 5,000 rows, decrypted, encoded and streamed to the S3 emulator as multipart uploads. Peak RSS is the process's maximum resident set (Node, the SDK and the modules included); baseline is its resident set just before the export began.`,
        )
        .table(
          ['format', 'rows', 'seconds', 'rows/s', 'files', 'baseline RSS MB', 'peak RSS MB'],
          results.map((result) => [
            result.format,
            result.rows.toLocaleString('en-US'),
            fmt(result.seconds),
            fmt(result.rows / result.seconds),
            String(result.files),
            fmt(result.baselineRssMb),
            fmt(result.peakRssMb),
          ]),
        );
    },
  };
};
