import path from 'node:path';
import { rangeBars, renderChart } from '../lib/charts';
import type { Figure } from '../lib/figure';
import { type LoadRequest, type LoadResult, runLoad, warmUp } from '../lib/load';
import { readingsBody, windowPath } from '../lib/readings';
import type { Shared } from '../lib/shared';
import { fmt, fmtRange, type Range, range } from '../lib/stats';
import { runWorker } from '../lib/workers';
import type { SeedInput, SeedOutput } from '../workers/seed';

// Figure 5: the read/write mixes the original image store promised graphs for (20:80, 50:50, 80:20),
// on the readings API. Reads are 100-row windows of a device holding stored rows; writes are
// 10-reading PUTs to the same device; the consumer stores the writes meanwhile, as it would.

const MIXES: Array<{ name: string; reads: number }> = [
  { name: '20:80', reads: 2 },
  { name: '50:50', reads: 5 },
  { name: '80:20', reads: 8 },
];
const READ_ROWS = 100;
const WRITE_READINGS = 10;

export const mixesFigure: Figure<Shared> = async (ctx) => {
  const runs = ctx.quick ? 1 : 3;
  const seconds = ctx.quick ? 1 : 10;
  const connections = 4;
  const storedRows = ctx.quick ? 1_000 : 10_000;
  const device = await ctx.registerDevice('bench mixes');
  await runWorker<SeedInput, SeedOutput>(
    'seed',
    { layout: 'chunks', deviceId: device.deviceId, from: 0, count: storedRows, concurrency: 16 },
    { env: ctx.env, logFile: path.join(ctx.logsDir, 'seed.log') },
  );
  const headers = { authorization: `Bearer ${device.token}`, 'content-type': 'application/json' };
  const read = (index: number): LoadRequest => {
    const start = (index * 7_919) % (storedRows - READ_ROWS);
    return {
      kind: 'read',
      method: 'POST',
      path: `/api/iot${windowPath(start, READ_ROWS)}?limit=${READ_ROWS}`,
      headers,
    };
  };
  const write = (index: number): LoadRequest => ({
    kind: 'write',
    method: 'PUT',
    path: '/api/iot',
    headers,
    // Writes go above the stored rows, so reads always see the same 100 rows per window.
    body: readingsBody(WRITE_READINGS, 1_000_000 + index * WRITE_READINGS),
  });
  /** Ten requests in a cycle, reads spread evenly among the writes. */
  const cycle = (reads: number) =>
    Array.from({ length: 10 }, (_, index) =>
      Math.floor(((index + 1) * reads) / 10) > Math.floor((index * reads) / 10) ? read(index) : write(index),
    );

  const results: Array<{ mix: string; runs: LoadResult[] }> = [];
  for (const mix of MIXES) {
    const requests = cycle(mix.reads);
    await warmUp(ctx.apiUrl, requests, connections, ctx.quick ? 1 : 2);
    const mixRuns: LoadResult[] = [];
    for (let run = 0; run < runs; run += 1) {
      await ctx.purge();
      await ctx.drain(ctx.quick ? 1_000 : 15_000);
      mixRuns.push(await runLoad({ url: ctx.apiUrl, requests, connections, seconds }));
    }
    results.push({ mix: mix.name, runs: mixRuns });
    ctx.log(`  mix ${mix.name}: ${fmt(range(mixRuns.map((result) => result.total.rps)).median)} requests/s`);
  }
  await ctx.purge();

  const of = (list: LoadResult[], f: (result: LoadResult) => number | undefined): Range =>
    range(list.map(f).filter((value): value is number => value !== undefined && Number.isFinite(value)));
  const rows = results.map(({ mix, runs: list }) => ({
    mix,
    total: of(list, (result) => result.total.rps),
    readRps: of(list, (result) => result.byKind.read?.rps),
    writeRps: of(list, (result) => result.byKind.write?.rps),
    readP50: of(list, (result) => result.byKind.read?.latency.p50),
    readP95: of(list, (result) => result.byKind.read?.latency.p95),
    readP99: of(list, (result) => result.byKind.read?.latency.p99),
    writeP50: of(list, (result) => result.byKind.write?.latency.p50),
    writeP95: of(list, (result) => result.byKind.write?.latency.p95),
    writeP99: of(list, (result) => result.byKind.write?.latency.p99),
    failed: list.reduce((sum, result) => sum + result.total.failed + result.errors, 0),
  }));
  const throughput = await renderChart(
    ctx.outDir,
    'mixes-throughput',
    rangeBars(
      rows.flatMap((row) => [
        { x: row.mix, series: 'reads/s', ...row.readRps },
        { x: row.mix, series: 'writes/s', ...row.writeRps },
        { x: row.mix, series: 'total requests/s', ...row.total },
      ]),
      {
        title: 'Read/write mixes: throughput',
        subtitle: `reads: ${READ_ROWS}-row windows; writes: ${WRITE_READINGS}-reading PUTs; ${connections} connections, median of ${runs} × ${seconds} s (bars: min–max)`,
        xTitle: 'read:write',
        yTitle: 'requests/s',
      },
    ),
  );
  const latency = await renderChart(
    ctx.outDir,
    'mixes-latency',
    rangeBars(
      rows.flatMap((row) => [
        { x: row.mix, series: 'read p50', ...row.readP50 },
        { x: row.mix, series: 'read p95', ...row.readP95 },
        { x: row.mix, series: 'write p50', ...row.writeP50 },
        { x: row.mix, series: 'write p95', ...row.writeP95 },
      ]),
      {
        title: 'Read/write mixes: latency',
        subtitle: `median of ${runs} runs (bars: min–max)`,
        xTitle: 'read:write',
        yTitle: 'ms',
      },
    ),
  );
  return {
    key: 'mixes',
    title: '5. Read/write mixes',
    headline: [
      `Mixes: ${rows.map((row) => `${row.mix} ${fmt(row.total.median)} req/s (read p95 ${fmt(row.readP95.median)} ms, write p95 ${fmt(row.writeP95.median)} ms)`).join('; ')}`,
    ],
    targets: [],
    data: { runs, seconds, connections, storedRows, rows },
    write: (report) => {
      report
        .paragraph(
          `One device holding ${storedRows.toLocaleString('en-US')} stored rows. Reads: \`POST /api/iot/{start}/{end}?limit=${READ_ROWS}\` on windows of ${READ_ROWS} stored rows;`,
          `writes: \`PUT /api/iot\` with ${WRITE_READINGS} readings. Requests cycle in groups of ten with the reads spread among the writes;`,
          `${connections} connections, ${runs} runs of ${seconds} s per mix after a warm-up ramping to ${connections} concurrent requests. The consumer stores the writes meanwhile (the queue is purged between runs).`,
        )
        .image('Mix throughput', throughput.png, throughput.svg)
        .image('Mix latency', latency.png, latency.svg)
        .table(
          [
            'read:write',
            'requests/s',
            'reads/s',
            'writes/s',
            'read p50/p95/p99 ms',
            'write p50/p95/p99 ms',
            'failed',
          ],
          rows.map((row) => [
            row.mix,
            fmtRange(row.total),
            fmtRange(row.readRps),
            fmtRange(row.writeRps),
            `${fmt(row.readP50.median)} / ${fmt(row.readP95.median)} / ${fmt(row.readP99.median)}`,
            `${fmt(row.writeP50.median)} / ${fmt(row.writeP95.median)} / ${fmt(row.writeP99.median)}`,
            row.failed,
          ]),
        );
    },
  };
};
