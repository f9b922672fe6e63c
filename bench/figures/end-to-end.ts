import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { arrivalsPartition } from '../../src/lib/readings/rows';
import { rangeBars, renderChart, timeSeries } from '../lib/charts';
import type { Device } from '../lib/context';
import { type Figure, sleep } from '../lib/figure';
import { runLoad, warmUp } from '../lib/load';
import { readingsBody, windowPath } from '../lib/readings';
import type { Shared } from '../lib/shared';
import { fmt, fmtRange, percentile, range } from '../lib/stats';

// Figure 2: ingest → SQS → consumer → DynamoDB. Latency: time from the 202 until the readings come
// back from the query API, one small request at a time on an idle system. Throughput: a sustained
// load of 100-reading requests, with readings stored counted over time until the backlog is gone.

const READINGS_PER_PROBE = 10;
const READINGS_PER_REQUEST = 100;

async function api(ctx: { apiUrl: string }, device: Device, method: string, path: string, body?: string) {
  const response = await fetch(`${ctx.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${device.token}`, 'content-type': 'application/json' },
    body,
  });
  return { status: response.status, body: (await response.json()) as { data?: unknown[] } };
}

/** Sustained stored readings/s of the committed sample report, before chunks (docs/benchmarks.md). */
const SAMPLE_STORED_PER_SECOND = 1_450;

export const endToEndFigure: Figure<Shared> = async (ctx, shared) => {
  const probes = ctx.quick ? 2 : 20;
  const runs = ctx.quick ? 1 : 3;
  const loadSeconds = ctx.quick ? 1.5 : 15;
  const connections = 4;
  await ctx.purge();
  await ctx.drain(30_000);

  // Latency probes.
  const probeDevice = await ctx.registerDevice('bench e2e latency');
  const latencies: number[] = [];
  const polls: number[] = [];
  for (let probe = 0; probe < probes; probe += 1) {
    const first = probe * 1_000;
    const accepted = await api(ctx, probeDevice, 'PUT', '/api/iot', readingsBody(READINGS_PER_PROBE, first));
    const acceptedAt = performance.now();
    if (accepted.status !== 202) throw new Error(`probe ingest answered ${accepted.status}`);
    let count = 0;
    for (;;) {
      const found = await api(
        ctx,
        probeDevice,
        'POST',
        `/api/iot${windowPath(first, READINGS_PER_PROBE)}?limit=100`,
      );
      count += 1;
      if ((found.body.data?.length ?? 0) >= READINGS_PER_PROBE) break;
      if (performance.now() - acceptedAt > 30_000)
        throw new Error('readings did not become queryable within 30 s');
      await sleep(20);
    }
    latencies.push(performance.now() - acceptedAt);
    polls.push(count);
    // Uncorrelated with the consumer's poll loop.
    await sleep(200 + Math.random() * 300);
  }
  const latency = range(latencies);
  ctx.log(`  202 → queryable: median ${fmt(latency.median)} ms over ${probes} probes`);

  // Sustained load.
  const table = ctx.env.READINGS_TABLE as string;
  const storedMessages = async (deviceId: string) => {
    let total = 0;
    let start: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
    do {
      const page = await ctx.dynamo.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'deviceId = :d',
          ExpressionAttributeValues: { ':d': { S: arrivalsPartition(deviceId) } },
          Select: 'COUNT',
          ExclusiveStartKey: start,
        }),
      );
      total += page.Count ?? 0;
      start = page.LastEvaluatedKey;
    } while (start);
    return total;
  };
  interface Run {
    acceptedPerSecond: number;
    storedPerSecond: number;
    backlogAtEnd: number;
    drainSeconds: number;
    series: Array<{ t: number; series: string; value: number }>;
    complete: boolean;
  }
  const sustained: Run[] = [];
  for (let run = 0; run < runs; run += 1) {
    await ctx.drain(60_000);
    const device = await ctx.registerDevice(`bench e2e sustained ${run}`);
    const body = readingsBody(READINGS_PER_REQUEST, 0);
    const request = {
      kind: 'write',
      method: 'PUT' as const,
      path: '/api/iot',
      headers: { authorization: `Bearer ${device.token}`, 'content-type': 'application/json' },
      body,
    };
    // Warmed on another device, so this one's count starts at zero.
    const warmDevice = await ctx.registerDevice('bench e2e warm-up');
    await warmUp(
      ctx.apiUrl,
      [{ ...request, headers: { ...request.headers, authorization: `Bearer ${warmDevice.token}` } }],
      connections,
    );
    await ctx.drain(30_000);
    let accepted = 0;
    const series: Run['series'] = [];
    const t0 = performance.now();
    const seconds = () => (performance.now() - t0) / 1000;
    let stored = 0;
    let firstStoredAt: number | undefined;
    let lastChangeAt = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const now = seconds();
        const count = (await storedMessages(device.deviceId)) * READINGS_PER_REQUEST;
        if (count > stored) {
          firstStoredAt ??= now;
          lastChangeAt = now;
        }
        stored = count;
        series.push(
          { t: now, series: 'accepted (202)', value: accepted },
          { t: now, series: 'stored in DynamoDB', value: count },
        );
        await sleep(500);
      }
    })();
    const load = await runLoad({
      url: ctx.apiUrl,
      connections,
      seconds: loadSeconds,
      requests: [request],
      onResponse: (_kind, status) => {
        if (status === 202) accepted += READINGS_PER_REQUEST;
      },
    });
    const loadEnded = seconds();
    const backlogAtEnd = accepted - stored;
    const deadline = performance.now() + (ctx.quick ? 15_000 : 180_000);
    while (stored < accepted && performance.now() < deadline) await sleep(250);
    sampling = false;
    await sampler;
    const complete = stored >= accepted;
    const activeSeconds = Math.max(0.001, lastChangeAt - (firstStoredAt ?? 0));
    sustained.push({
      acceptedPerSecond: (load.total.ok * READINGS_PER_REQUEST) / load.seconds,
      storedPerSecond: stored / activeSeconds,
      backlogAtEnd,
      drainSeconds: Math.max(0, lastChangeAt - loadEnded),
      series,
      complete,
    });
    ctx.log(
      `  sustained run ${run + 1}: ${fmt(sustained.at(-1)?.acceptedPerSecond ?? 0)} accepted/s, ${fmt(sustained.at(-1)?.storedPerSecond ?? 0)} stored/s${complete ? '' : ' (backlog not drained before the deadline)'}`,
    );
  }
  const stored = range(sustained.map((run) => run.storedPerSecond));
  const acceptedRate = range(sustained.map((run) => run.acceptedPerSecond));
  shared.storedPerSecond = stored.median;
  const middle = [...sustained].sort((a, b) => a.storedPerSecond - b.storedPerSecond)[
    Math.floor(sustained.length / 2)
  ];

  const latencyChart = await renderChart(
    ctx.outDir,
    'e2e-latency',
    rangeBars(
      [
        {
          x: 'p50',
          series: '202 → queryable',
          median: percentile(latencies, 50),
          min: latency.min,
          max: latency.max,
        },
        {
          x: 'p95',
          series: '202 → queryable',
          median: percentile(latencies, 95),
          min: latency.min,
          max: latency.max,
        },
      ],
      {
        title: 'End to end: from 202 to queryable',
        subtitle: `${probes} probes of ${READINGS_PER_PROBE} readings on an idle system; bars: min–max of all probes`,
        xTitle: '',
        yTitle: 'ms',
        width: 300,
      },
    ),
  );
  const seriesChart = await renderChart(
    ctx.outDir,
    'e2e-sustained',
    timeSeries(middle?.series ?? [], {
      title: 'End to end: readings accepted vs stored over time',
      subtitle: `${loadSeconds} s of 100-reading requests on ${connections} connections, then the backlog drains (median run)`,
      xTitle: 'seconds',
      yTitle: 'readings (cumulative)',
    }),
  );
  const ratesChart = await renderChart(
    ctx.outDir,
    'e2e-rates',
    rangeBars(
      [
        { x: 'accepted (202)', series: 'readings/s', ...acceptedRate },
        { x: 'stored in DynamoDB', series: 'readings/s', ...stored },
      ],
      {
        title: 'End to end: sustained readings/s',
        subtitle: `median of ${runs} runs (bars: min–max)`,
        xTitle: '',
        yTitle: 'readings/s',
        width: 300,
      },
    ),
  );
  const batchSize = ctx.config.functions['consume-readings']?.events.find((event) => event.sqs)?.sqs;
  const sqsConfig = typeof batchSize === 'object' ? batchSize : undefined;
  return {
    key: 'e2e',
    title: '2. End to end',
    headline: [
      `End to end: 202 → queryable in ${fmt(latency.median)} ms (median, p95 ${fmt(percentile(latencies, 95))} ms); ${fmt(stored.median)} readings/s stored sustained`,
    ],
    targets: [
      {
        name: `Sustained stored readings/s (${READINGS_PER_REQUEST} readings/request) vs the sample before chunks (${SAMPLE_STORED_PER_SECOND.toLocaleString('en-US')}/s)`,
        target: '≥ 5×',
        measured: `×${fmt(stored.median / SAMPLE_STORED_PER_SECOND)} (${fmt(stored.median)} readings/s; accepted ${fmt(acceptedRate.median)}/s)`,
        met: stored.median / SAMPLE_STORED_PER_SECOND >= 5,
      },
    ],
    data: { probes: latencies, polls, sustained: sustained.map(({ series: _, ...rest }) => rest) },
    write: (report) => {
      report
        .paragraph(
          `**Latency**: ${probes} times, one request of ${READINGS_PER_PROBE} readings, then \`POST /api/iot/{start}/{end}\` every 20 ms until all of them come back decrypted.`,
          `The consumer's event source batches up to ${sqsConfig?.batchSize ?? '?'} messages and waits up to ${sqsConfig?.maximumBatchingWindow ?? '?'} s for a batch to fill (\`consumerBatchSize\`, \`consumerBatchingWindowSeconds\`),`,
          'so on an idle system the batching window dominates this latency, by design.',
        )
        .image('202 to queryable', latencyChart.png, latencyChart.svg)
        .table(
          ['probes', 'median ms', 'p95 ms', 'min ms', 'max ms'],
          [[probes, fmt(latency.median), fmt(percentile(latencies, 95)), fmt(latency.min), fmt(latency.max)]],
        )
        .paragraph(
          `**Throughput**: ${runs} runs of ${loadSeconds} s of 100-reading requests (${connections} connections) while the consumer stores them;`,
          'readings stored are counted from the arrival log every 0.5 s until the backlog is gone.',
          'Stored/s is the stored total over the time from the first to the last stored reading.',
        )
        .image('Accepted vs stored', seriesChart.png, seriesChart.svg)
        .image('Sustained rates', ratesChart.png, ratesChart.svg)
        .table(
          [
            'run',
            'accepted readings/s',
            'stored readings/s',
            'backlog at end of load',
            'drain s',
            'complete',
          ],
          sustained.map((run, index) => [
            index + 1,
            fmt(run.acceptedPerSecond),
            fmt(run.storedPerSecond),
            run.backlogAtEnd.toLocaleString('en-US'),
            fmt(run.drainSeconds),
            run.complete ? 'yes' : 'no',
          ]),
        )
        .paragraph(
          `Median: ${fmtRange(acceptedRate)} readings/s accepted, ${fmtRange(stored)} readings/s stored.`,
        );
    },
  };
};
