import { readFileSync } from 'node:fs';
import path from 'node:path';
import { renderChart, stackedBars } from '../lib/charts';
import type { Figure } from '../lib/figure';
import type { Shared } from '../lib/shared';
import { fmt, median } from '../lib/stats';

// Figure 8: $ per million readings, built from what the other figures measured (handler and
// consumer durations, messages and bytes per request, item sizes → write units) at the prices in
// bench/prices.json, against the floor of one DynamoDB write per reading.

interface Prices {
  date: string;
  region: string;
  note: string;
  lambda: { architecture: string; perGbSecond: number; perMillionRequests: number; source: string };
  apiGateway: { api: string; perMillionRequests: number; source: string };
  sqs: { perMillionRequests: number; billedChunkBytes: number; source: string };
  dynamodb: { perMillionWriteUnits: number; source: string };
}

const MILLION = 1_000_000;
/** API Gateway caches the authorizer's answer per token for this long (serverless.yml). */
const AUTHORIZER_CACHE_SECONDS = 30;
/** Assumed send interval of a device (for authorizer cache misses). */
const DEVICE_INTERVAL_SECONDS = 1;
/** Lambda gives a function CPU in proportion to memory: one full vCPU at 1,769 MB. */
const FULL_VCPU_MB = 1_769;
/**
 * Write units per request for aggregates, estimated (not measured here): the minute partial's
 * conditional put (1, for a request within one minute), and its compaction, a transaction (2 units per
 * item written): the partial's tombstone (2) and its share of the hour and day summaries a group of up
 * to ~80 partials updates together (≈ 1 for a handful of fields of ~1 KB summaries).
 */
const AGGREGATE_WRITE_UNITS = 4;
/** Issue 13: readings in chunks cost at most a quarter of one write per reading. */
const COST_TARGET = 0.25;
/** The reference request size the target is checked at. */
const REFERENCE_READINGS = 100;

export const pricesFile = path.join(__dirname, '..', 'prices.json');

export const costFigure: Figure<Shared> = async (ctx, shared) => {
  const prices = JSON.parse(readFileSync(pricesFile, 'utf8')) as Prices;
  const memoryOf = (fn: string) => {
    const declared = (ctx.config.functions[fn] as { memorySize?: number } | undefined)?.memorySize;
    return declared ?? (ctx.config.provider as { memorySize?: number }).memorySize ?? 1024;
  };
  const ingest = (shared.ingest ?? []).filter((entry) => entry.mode === 'plain');
  const consumer = shared.consumerMsPerReading;
  if (ingest.length === 0 || !consumer || shared.authorizerMs === undefined) {
    throw new Error('the cost model needs the ingest and consumer figures (run them in the same bench)');
  }
  const consumerBatch = consumer.batchSize;
  const gbSecond = (ms: number, mb: number) =>
    (Math.ceil(ms) / 1000) * (mb / 1024) * prices.lambda.perGbSecond;
  const lambdaRequest = prices.lambda.perMillionRequests / MILLION;

  const scenarios = ingest.map((entry) => {
    const readings = entry.readings;
    const requests = MILLION / readings;
    const ingestMs = median(entry.wallMs);
    const messages = requests * entry.messages;
    const bytes = requests * entry.messageBytes;
    const chunks = (total: number) => Math.max(1, Math.ceil(total / prices.sqs.billedChunkBytes));
    // Send: one SendMessageBatch per ≤ 10 messages, billed per 64 KB chunk of its payload.
    const sendRequests = requests * chunks(entry.messageBytes / Math.max(1, Math.ceil(entry.messages / 10)));
    // Receive: the event source's ReceiveMessage calls return up to 10 messages, billed per 64 KB chunk;
    // delete: one DeleteMessageBatch per ≤ 10 messages. Empty polls are a fixed cost per queue (not per reading).
    const receiveRequests = Math.max(messages / 10, bytes / prices.sqs.billedChunkBytes);
    const deleteRequests = messages / 10;
    const invocations = messages / consumerBatch;
    const authorizerCalls = requests * (DEVICE_INTERVAL_SECONDS / AUTHORIZER_CACHE_SECONDS);
    const consumerMs = consumer.median * MILLION;
    // Chunks, the arrival entry, the audit entry (1) and the latest-reading entry (1) per request, and
    // its aggregates (AGGREGATE_WRITE_UNITS: an estimate, see there).
    const writeUnits =
      requests * (entry.readingWriteUnits + entry.arrivalWriteUnits + 1 + 1 + AGGREGATE_WRITE_UNITS);
    const parts = {
      'API Gateway': requests * (prices.apiGateway.perMillionRequests / MILLION),
      'Lambda: authorizer':
        authorizerCalls * (lambdaRequest + gbSecond(shared.authorizerMs ?? 0, memoryOf('authorize'))),
      'Lambda: ingest': requests * (lambdaRequest + gbSecond(ingestMs, memoryOf('ingest-readings'))),
      SQS: (sendRequests + receiveRequests + deleteRequests) * (prices.sqs.perMillionRequests / MILLION),
      'Lambda: consumer':
        invocations * lambdaRequest +
        (consumerMs / 1000) * (memoryOf('consume-readings') / 1024) * prices.lambda.perGbSecond,
      'DynamoDB writes': writeUnits * (prices.dynamodb.perMillionWriteUnits / MILLION),
    };
    const total = Object.values(parts).reduce((sum, value) => sum + value, 0);
    // Locally a handler had a whole core; at 512 MB Lambda gives ~29% of one.
    const slowdown = FULL_VCPU_MB / memoryOf('ingest-readings');
    const lambdaParts = parts['Lambda: authorizer'] + parts['Lambda: ingest'] + parts['Lambda: consumer'];
    const lambdaRequests = (authorizerCalls + requests + invocations) * lambdaRequest;
    const totalSlowCpu = total + (lambdaParts - lambdaRequests) * (slowdown - 1);
    return { readings, requests, ingestMs, messages, writeUnits, parts, total, totalSlowCpu, slowdown };
  });
  const floor = MILLION * (prices.dynamodb.perMillionWriteUnits / MILLION);
  const reference =
    scenarios.find((scenario) => scenario.readings === REFERENCE_READINGS) ?? scenarios.at(-1);
  const ratio = reference ? reference.total / floor : Number.NaN;

  const chart = await renderChart(
    ctx.outDir,
    'cost',
    stackedBars(
      scenarios
        .filter((scenario) => scenario.readings >= 10)
        .flatMap((scenario) =>
          Object.entries(scenario.parts).map(([part, value]) => ({
            x: `${scenario.readings} / request`,
            part,
            value,
          })),
        ),
      {
        title: '$ per million readings',
        subtitle: `${prices.region} on-demand prices of ${prices.date}; measured durations and sizes; 1 reading per request left out of the chart (see table)`,
        xTitle: 'readings per request',
        yTitle: 'USD per million readings',
        rules: [
          { y: floor, label: `floor: 1 write per reading ($${fmt(floor)})` },
          { y: floor * COST_TARGET, label: `target: ${COST_TARGET} × floor` },
        ],
      },
    ),
  );
  const partNames = Object.keys(scenarios[0]?.parts ?? {});
  return {
    key: 'cost',
    title: '8. Cost model',
    headline: [
      `Cost: $${fmt(reference?.total ?? Number.NaN)} per million readings at ${reference?.readings} readings/request (×${fmt(ratio)} the $${fmt(floor)} DynamoDB write floor)`,
    ],
    targets: [
      {
        name: `Cost per million readings (${reference?.readings} readings/request) vs the DynamoDB write floor`,
        target: `≤ ${COST_TARGET}×`,
        measured: `×${fmt(ratio)} ($${fmt(reference?.total ?? Number.NaN)} vs $${fmt(floor)})`,
        met: ratio <= COST_TARGET,
      },
    ],
    data: {
      prices,
      floor,
      scenarios,
      assumptions: { AUTHORIZER_CACHE_SECONDS, DEVICE_INTERVAL_SECONDS, AGGREGATE_WRITE_UNITS, consumer },
    },
    write: (report) => {
      report
        .paragraph(
          `Prices: \`bench/prices.json\` (${prices.region}, on-demand, dated ${prices.date}; free tiers left out). ${prices.note}`,
        )
        .image('Cost per million readings', chart.png, chart.svg)
        .table(
          [
            'readings/request',
            ...partNames.map((name) => `${name} $`),
            'total $',
            '× floor',
            `total if Lambda CPU ×${fmt(scenarios[0]?.slowdown ?? Number.NaN)} $`,
          ],
          scenarios.map((scenario) => [
            scenario.readings,
            ...partNames.map((name) => fmt(scenario.parts[name as keyof typeof scenario.parts], 3)),
            fmt(scenario.total),
            `×${fmt(scenario.total / floor)}`,
            fmt(scenario.totalSlowCpu),
          ]),
        )
        .bullets([
          `**Floor**: one DynamoDB write unit per reading = $${fmt(floor)} per million readings.`,
          '**API Gateway**: one REST request per device request.',
          `**Lambda** (${prices.lambda.architecture}, memory from serverless.yml, billed per ms): ingest at its measured in-process wall time per request size (figure 1); the consumer at its measured ${fmt(consumer.median * 1000)} µs per reading at batch size ${consumerBatch} (figure 3, ${consumer.readingsPerMessage} readings per message), one invocation per ${consumerBatch} messages; the authorizer at its measured ${fmt(shared.authorizerMs ?? Number.NaN)} ms, run on a cache miss only — assumed one in ${AUTHORIZER_CACHE_SECONDS / DEVICE_INTERVAL_SECONDS} requests (a device sending every ${DEVICE_INTERVAL_SECONDS} s, ${AUTHORIZER_CACHE_SECONDS} s cache).`,
          `**Lambda CPU**: these durations were measured with a whole core of this machine; at 512 MB Lambda gives about ${fmt(100 / (scenarios[0]?.slowdown ?? 1))}% of a vCPU, so CPU-bound work may take up to ×${fmt(scenarios[0]?.slowdown ?? Number.NaN)} longer: the last column prices that case.`,
          "**SQS**: SendMessageBatch per request, the event source's ReceiveMessage (10 messages each) and DeleteMessageBatch, each billed per 64 KB chunk; message sizes are the real sealed messages (figure 1 table). The event source's empty long polls cost the same whatever the volume and are left out.",
          "**DynamoDB**: write units from the real item sizes — each reading row, one arrival-log row per message (it lists the message's row keys, so it grows with the request) and one audit row per request. Storage, reads, KMS (data keys are reused for 5 minutes), CloudWatch Logs and X-Ray are left out.",
        ])
        .table(
          [
            'readings/request',
            'requests per million readings',
            'ingest ms/request',
            'SQS messages',
            'DynamoDB write units',
          ],
          scenarios.map((scenario) => [
            scenario.readings,
            Math.round(scenario.requests).toLocaleString('en-US'),
            fmt(scenario.ingestMs),
            Math.round(scenario.messages).toLocaleString('en-US'),
            Math.round(scenario.writeUnits).toLocaleString('en-US'),
          ]),
        );
    },
  };
};
