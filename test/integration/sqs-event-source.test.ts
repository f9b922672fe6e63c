import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import type { InvokeResult } from '../../scripts/local/invoker';
import { SqsEventSource, type SqsEventSourceOptions } from '../../scripts/local/sqs-event-source';
import { createQueuePair, eventually, peekAll, queueCounts, sqs } from '../support/sqs';

async function send(queueUrl: string, bodies: string[]) {
  for (let index = 0; index < bodies.length; index += 10) {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: bodies
          .slice(index, index + 10)
          .map((body, offset) => ({ Id: `e${offset}`, MessageBody: body })),
      }),
    );
  }
}

function source(
  queue: { queueUrl: string; queueArn: string },
  invoke: (event: SQSEvent) => Promise<InvokeResult>,
  overrides: Partial<SqsEventSourceOptions> = {},
) {
  return new SqsEventSource({
    functionKey: 'consumer',
    queueUrl: queue.queueUrl,
    queueArn: queue.queueArn,
    region: 'us-east-1',
    batchSize: 10,
    maximumBatchingWindowSeconds: 0,
    reportBatchItemFailures: true,
    concurrency: 1,
    sqs,
    invoke: (_key, event) => invoke(event as SQSEvent),
    log: () => undefined,
    ...overrides,
  });
}

describe('SQS event source (Lambda event source mapping emulation) against the SQS emulator', () => {
  it('delivers Lambda-shaped records in batches no larger than batchSize and deletes processed messages', async () => {
    const queue = await createQueuePair({ visibilityTimeout: 30, maxReceiveCount: 3 });
    await send(
      queue.queueUrl,
      Array.from({ length: 25 }, (_, index) => `m${index}`),
    );
    const batches: SQSEvent[] = [];
    const eventSource = source(queue, async (event) => {
      batches.push(event);
      return { ok: true, payload: { batchItemFailures: [] } };
    });
    eventSource.start();
    await eventually(async () => {
      expect(batches.flatMap((batch) => batch.Records).length).toBe(25);
    });
    await eventSource.stop();
    expect(Math.max(...batches.map((batch) => batch.Records.length))).toBeLessThanOrEqual(10);
    const bodies = batches.flatMap((batch) => batch.Records.map((record) => record.body)).sort();
    expect(new Set(bodies).size).toBe(25);
    const record = batches[0]?.Records[0];
    expect(record).toMatchObject({
      eventSource: 'aws:sqs',
      eventSourceARN: queue.queueArn,
      awsRegion: 'us-east-1',
    });
    expect(record?.attributes.ApproximateReceiveCount).toBe('1');
    expect(record?.receiptHandle).toBeTruthy();
    expect(await queueCounts(queue.queueUrl)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('fills a batch beyond 10 messages within the batching window', async () => {
    const queue = await createQueuePair({ visibilityTimeout: 30, maxReceiveCount: 3 });
    await send(
      queue.queueUrl,
      Array.from({ length: 30 }, (_, index) => `w${index}`),
    );
    const eventSource = source(queue, async () => ({ ok: true, payload: null }), {
      batchSize: 30,
      maximumBatchingWindowSeconds: 2,
    });
    const batch = await eventSource.gather();
    expect(batch).toHaveLength(30);
    const outcome = await eventSource.deliver(batch);
    expect(outcome).toEqual({ received: 30, deleted: 30, failed: 0 });
  });

  it('deletes only what the function did not report in batchItemFailures', async () => {
    const queue = await createQueuePair({ visibilityTimeout: 30, maxReceiveCount: 3 });
    await send(queue.queueUrl, ['ok-1', 'poison', 'ok-2']);
    const eventSource = source(queue, async (event) => ({
      ok: true,
      payload: {
        batchItemFailures: event.Records.filter((record) => record.body === 'poison').map((record) => ({
          itemIdentifier: record.messageId,
        })),
      },
    }));
    const batch = await eventSource.gather();
    expect(batch).toHaveLength(3);
    expect(await eventSource.deliver(batch)).toEqual({ received: 3, deleted: 2, failed: 1 });
    expect(await queueCounts(queue.queueUrl)).toEqual({ visible: 0, inFlight: 1 });
  });

  it('retries the whole batch when the invocation fails or reports an unknown identifier', async () => {
    const queue = await createQueuePair({ visibilityTimeout: 30, maxReceiveCount: 3 });
    await send(queue.queueUrl, ['a', 'b']);
    const crashing = source(queue, async () => ({ ok: false, error: 'boom' }));
    const first = await crashing.gather();
    expect(await crashing.deliver(first)).toMatchObject({
      received: 2,
      deleted: 0,
      failed: 2,
      invokeError: 'boom',
    });

    const other = await createQueuePair({ visibilityTimeout: 30, maxReceiveCount: 3 });
    await send(other.queueUrl, ['c', 'd']);
    const confused = source(other, async () => ({
      ok: true,
      payload: { batchItemFailures: [{ itemIdentifier: 'not-in-this-batch' }] },
    }));
    const second = await confused.gather();
    expect(await confused.deliver(second)).toEqual({ received: 2, deleted: 0, failed: 2 });
  });

  it('ignores batchItemFailures unless ReportBatchItemFailures is configured (as Lambda does)', async () => {
    const queue = await createQueuePair({ visibilityTimeout: 30, maxReceiveCount: 3 });
    await send(queue.queueUrl, ['x']);
    const eventSource = source(
      queue,
      async (event) => ({
        ok: true,
        payload: { batchItemFailures: [{ itemIdentifier: event.Records[0]?.messageId }] },
      }),
      { reportBatchItemFailures: false },
    );
    const batch = await eventSource.gather();
    expect(await eventSource.deliver(batch)).toEqual({ received: 1, deleted: 1, failed: 0 });
  });

  it('lets the redrive policy move a poison message to the dead-letter queue after maxReceiveCount', async () => {
    const queue = await createQueuePair({ visibilityTimeout: 1, maxReceiveCount: 2 });
    await send(queue.queueUrl, ['good', 'poison']);
    const receiveCounts: string[] = [];
    const stored: string[] = [];
    const eventSource = source(queue, async (event) => {
      const failures = [];
      for (const record of event.Records) {
        if (record.body === 'poison') {
          receiveCounts.push(record.attributes.ApproximateReceiveCount);
          failures.push({ itemIdentifier: record.messageId });
        } else stored.push(record.body);
      }
      return { ok: true, payload: { batchItemFailures: failures } };
    });
    eventSource.start();
    const deadLetters = await eventually(
      async () => {
        const messages = await peekAll(queue.dlqUrl);
        expect(messages).toHaveLength(1);
        return messages;
      },
      { timeoutMs: 20_000 },
    );
    await eventSource.stop();
    expect(deadLetters[0]?.Body).toBe('poison');
    expect(stored).toEqual(['good']);
    expect(receiveCounts).toEqual(['1', '2']);
    expect(await queueCounts(queue.queueUrl)).toEqual({ visible: 0, inFlight: 0 });
  });
});
