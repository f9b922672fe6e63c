import { randomBytes, randomUUID } from 'node:crypto';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { lambdaContext } from '../../test/support/lambda-context';
import { freeformOf, interrogatorTimeOf, relativeTimeOf } from '../lib/readings';
import { median } from '../lib/stats';
import { serveWorker } from '../lib/workers';

// The consumer in-process against DynamoDB Local: the deployed handler (parse, validate, BatchWriteItem
// with retries) on real sealed messages, the same preceded by ingest's sealing with and without a
// db_password, and raw BatchWriteItem of the same reading rows as the floor.

export type ConsumerMode = 'raw' | 'consumer' | 'seal+consumer' | 'seal+consumer (db_password)';
export const CONSUMER_MODES: ConsumerMode[] = [
  'raw',
  'consumer',
  'seal+consumer',
  'seal+consumer (db_password)',
];

export interface ConsumerInput {
  batchSizes: number[];
  readingsPerMessage: number;
  /** Readings per run and batch size (at least one batch). */
  readingsPerRun: number;
  runs: number;
}

export interface ConsumerPoint {
  batchSize: number;
  mode: ConsumerMode;
  /** Rows (readings) per second, one value per run. */
  rowsPerSecond: number[];
  /** Milliseconds per invocation (one batch), median per run. */
  msPerBatch: number[];
}

export interface ConsumerOutput {
  points: ConsumerPoint[];
  scryptMs: number[];
}

const context = () => lambdaContext('consume-readings', 30_000);

serveWorker<ConsumerInput, ConsumerOutput>(async (input, progress) => {
  const { handler } = await import('../../src/handlers/consume-readings');
  const { dynamo } = await import('../../src/lib/aws/dynamo');
  const { config } = await import('../../src/lib/config');
  const { currentDataKey } = await import('../../src/lib/crypto/data-keys');
  const { passwordKey, verifierId } = await import('../../src/lib/crypto/passwords');
  const { chunkedMessage, parseQueuedMessage } = await import('../../src/lib/readings/messages');
  const { sealRequest } = await import('../../src/lib/readings/ingest');
  const { itemsOf } = await import('../../src/lib/readings/store');
  const { rowKey } = await import('../../src/lib/readings/rows');
  const consume = handler as unknown as (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

  const salt = randomBytes(16).toString('base64');
  const scryptMs: number[] = [];
  for (let index = 0; index < 3; index += 1) {
    const started = performance.now();
    await passwordKey(`bench-password-${index}-${randomUUID()}`, salt);
    scryptMs.push(performance.now() - started);
  }
  const password = 'bench-password';
  const passwordDerivedKey = await passwordKey(password, salt);

  /** What ingest does for one request's readings: seal each, pack, serialise for SQS. */
  const sealMessages = async (deviceId: string, count: number, withPassword: boolean): Promise<string[]> => {
    const { keyId, key } = await currentDataKey(count);
    const sealKey = rowKey(key, deviceId, withPassword ? passwordDerivedKey : undefined);
    const batchId = `${Date.now().toString(36).padStart(9, '0')}${randomBytes(9).toString('base64url')}`;
    const header = { deviceId, batchId, arrivedAt: Date.now() };
    const sealing = withPassword
      ? { key: sealKey, verifier: verifierId(passwordDerivedKey) }
      : { key: sealKey };
    const { chunks, latest } = sealRequest(
      Array.from({ length: count }, (_, index) => ({
        relativeTime: relativeTimeOf(index),
        interrogatorTime: interrogatorTimeOf(index),
        freeform: freeformOf(index),
        password: withPassword ? password : undefined,
      })),
      header,
      new Map([[withPassword ? password : undefined, sealing]]),
    );
    const audit = {
      requestId: randomUUID(),
      at: Date.now(),
      actor: deviceId,
      route: 'PUT /api/iot',
      deviceId,
      rows: count,
      action: 'write' as const,
    };
    return [JSON.stringify(chunkedMessage({ ...header, keyId, latest }, chunks, audit))];
  };
  const event = (bodies: string[]): SQSEvent => ({
    Records: bodies.map((body) => ({
      messageId: randomUUID(),
      receiptHandle: 'bench',
      body,
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: String(Date.now()),
        SenderId: 'bench',
        ApproximateFirstReceiveTimestamp: String(Date.now()),
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:bench',
      awsRegion: 'us-east-1',
    })),
  });
  const rawWrite = async (items: Array<Record<string, unknown>>) => {
    // The floor: the same rows, 25 per call, as many calls in flight as the consumer uses (4).
    const chunks: Array<Array<Record<string, unknown>>> = [];
    for (let index = 0; index < items.length; index += 25) chunks.push(items.slice(index, index + 25));
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(4, chunks.length) }, async () => {
        while (next < chunks.length) {
          let pending = (chunks[next++] ?? []).map((Item) => ({ PutRequest: { Item } }));
          while (pending.length > 0) {
            const { UnprocessedItems = {} } = await dynamo.send(
              new BatchWriteCommand({ RequestItems: { [config.READINGS_TABLE]: pending } }),
            );
            pending = (UnprocessedItems[config.READINGS_TABLE] ?? []) as typeof pending;
          }
        }
      }),
    );
  };

  const results = new Map<string, ConsumerPoint>();
  // Warm-up: the handler's modules, the data key, DynamoDB Local's JIT.
  await consume(event(await sealMessages(`bench_warm_${randomUUID().slice(0, 8)}`, 50, false)), context());
  for (let run = 0; run < input.runs; run += 1) {
    for (const batchSize of input.batchSizes) {
      const messagesPerRun = Math.max(batchSize, Math.ceil(input.readingsPerRun / input.readingsPerMessage));
      const batches = Math.ceil(messagesPerRun / batchSize);
      for (const mode of CONSUMER_MODES) {
        const deviceId = `bench_c_${randomUUID().slice(0, 12)}`;
        const withPassword = mode === 'seal+consumer (db_password)';
        const batchTimes: number[] = [];
        let rows = 0;
        let total = 0;
        for (let batch = 0; batch < batches; batch += 1) {
          // Messages are made per request (readingsPerMessage readings each), batches of batchSize messages.
          const makeBodies = async () => {
            const bodies: string[] = [];
            for (let message = 0; message < batchSize; message += 1)
              bodies.push(...(await sealMessages(deviceId, input.readingsPerMessage, withPassword)));
            return bodies;
          };
          let elapsed: number;
          if (mode === 'raw') {
            const bodies = await makeBodies();
            const items = bodies.flatMap((body) => {
              const parsed = parseQueuedMessage(body);
              if (parsed.kind !== 'batch') throw new Error('bench messages are inline');
              return itemsOf(parsed.batch).readings.map((entry) => entry.item);
            });
            const started = performance.now();
            await rawWrite(items);
            elapsed = performance.now() - started;
          } else if (mode === 'consumer') {
            const sqsEvent = event(await makeBodies());
            const started = performance.now();
            const response = await consume(sqsEvent, context());
            elapsed = performance.now() - started;
            if (response.batchItemFailures.length) throw new Error('consumer reported failures');
          } else {
            const started = performance.now();
            const response = await consume(event(await makeBodies()), context());
            elapsed = performance.now() - started;
            if (response.batchItemFailures.length) throw new Error('consumer reported failures');
          }
          batchTimes.push(elapsed);
          total += elapsed;
          rows += batchSize * input.readingsPerMessage;
        }
        const key = `${batchSize}\n${mode}`;
        const point = results.get(key) ?? { batchSize, mode, rowsPerSecond: [], msPerBatch: [] };
        point.rowsPerSecond.push(rows / (total / 1000));
        point.msPerBatch.push(median(batchTimes));
        results.set(key, point);
      }
      progress(`  consumer run ${run + 1}/${input.runs}, batch size ${batchSize} done`);
    }
  }
  return { points: [...results.values()], scryptMs };
});
