import { randomBytes } from 'node:crypto';
import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { batchGet, batchPut, MAX_ITEM_BYTES, type PutWrite } from '../../src/lib/aws/batch';
import { dynamo } from '../../src/lib/aws/dynamo';
import { sqs as appSqs } from '../../src/lib/aws/sqs';
import { MAX_SQS_BATCH_BYTES, planBatches, sendMessages } from '../../src/lib/aws/sqs-batch';
import { config } from '../../src/lib/config';
import { UnavailableError } from '../../src/lib/errors';
import { redriveDeadLetters } from '../../src/lib/queues/redrive';
import { injectFaults, throttled } from '../support/faults';
import { createQueuePair, eventually, sqs } from '../support/sqs';

// The shared batch helpers against the real emulators (DynamoDB Local, the SQS emulator, which
// enforce duplicate keys and the 1 MiB batch limit), with AWS's other limits and faults injected.

const partition = () => `limits_${randomBytes(6).toString('hex')}`;
const put = (deviceId: string, sk: string, extra: Record<string, unknown> = {}): PutWrite => ({
  table: config.READINGS_TABLE,
  item: { deviceId, sk, ...extra },
  keyAttributes: ['deviceId', 'sk'],
});

async function storedKeys(deviceId: string): Promise<string[]> {
  const { Items = [] } = await dynamo.send(
    new QueryCommand({
      TableName: config.READINGS_TABLE,
      KeyConditionExpression: 'deviceId = :d',
      ExpressionAttributeValues: { ':d': deviceId },
    }),
  );
  return Items.map((item) => item.sk as string).sort();
}

async function visibleMessages(queueUrl: string): Promise<number> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(Attributes.ApproximateNumberOfMessages ?? 0);
}

describe('batchPut (BatchWriteItem: 25 per call, no duplicate keys, items ≤ 400 KB)', () => {
  it('writes 60 requests naming 50 keys, each key once, the last write winning', async () => {
    const deviceId = partition();
    const writes = Array.from({ length: 60 }, (_, index) => put(deviceId, `k${index % 50}`, { n: index }));
    expect(await batchPut(writes)).toEqual([]);
    const keys = await storedKeys(deviceId);
    expect(keys).toHaveLength(50);
  });

  it('returns an item over 400 KB unwritten and still writes the others', async () => {
    const deviceId = partition();
    const big = put(deviceId, 'big', { blob: 'x'.repeat(MAX_ITEM_BYTES) });
    const unwritten = await batchPut([put(deviceId, 'a'), big, put(deviceId, 'b')]);
    expect(unwritten).toEqual([big]);
    expect(await storedKeys(deviceId)).toEqual(['a', 'b']);
  });

  it('retries unprocessed items until all are written', async () => {
    const deviceId = partition();
    // DynamoDB hands back part of a batch as UnprocessedItems under load: the first two calls do.
    const faults = injectFaults(dynamo, [
      {
        command: 'BatchWriteItemCommand',
        times: 2,
        output: (output, input) => {
          const requests = (input.RequestItems as Record<string, unknown[]>)[config.READINGS_TABLE] ?? [];
          return { ...output, UnprocessedItems: { [config.READINGS_TABLE]: requests.slice(0, 10) } };
        },
      },
    ]);
    try {
      const writes = Array.from({ length: 30 }, (_, index) => put(deviceId, `k${index}`));
      expect(await batchPut(writes)).toEqual([]);
      expect(faults.seen[0]).toBe(2);
    } finally {
      faults.remove();
    }
    expect(await storedKeys(deviceId)).toHaveLength(30);
  });

  it('reports every write as unwritten when DynamoDB keeps throttling (nothing silently dropped)', async () => {
    const deviceId = partition();
    const faults = injectFaults(dynamo, [
      { command: 'BatchWriteItemCommand', times: Number.POSITIVE_INFINITY, error: throttled() },
    ]);
    try {
      const writes = Array.from({ length: 30 }, (_, index) => put(deviceId, `k${index}`));
      const unwritten = await batchPut(writes, { retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 } });
      expect(unwritten).toHaveLength(30);
    } finally {
      faults.remove();
    }
  });
});

describe('batchGet (BatchGetItem: 100 keys per call, no duplicates, 16 MB answers)', () => {
  it('reads 250 keys given with duplicates, each item once', async () => {
    const deviceId = partition();
    await batchPut(Array.from({ length: 200 }, (_, index) => put(deviceId, `k${index}`)));
    const keys = [
      ...Array.from({ length: 200 }, (_, index) => `k${index}`),
      ...Array.from({ length: 50 }, (_, index) => `k${index}`),
    ];
    const items = await batchGet(
      config.READINGS_TABLE,
      keys.map((sk) => ({ deviceId, sk })),
      ['deviceId', 'sk'],
    );
    expect(items).toHaveLength(200);
    expect(new Set(items.map((item) => item.sk)).size).toBe(200);
  });

  it('follows UnprocessedKeys (as a 16 MB answer leaves them) and fails with a retryable error when they never clear', async () => {
    const deviceId = partition();
    await batchPut(Array.from({ length: 20 }, (_, index) => put(deviceId, `k${index}`)));
    const keys = Array.from({ length: 20 }, (_, index) => ({ deviceId, sk: `k${index}` }));
    const partial = injectFaults(dynamo, [
      {
        command: 'BatchGetItemCommand',
        times: 1,
        output: (output, input) => {
          const asked = (input.RequestItems as Record<string, { Keys: Array<{ sk: string }> }>)[
            config.READINGS_TABLE
          ];
          const answered = (
            (output.Responses as Record<string, Array<{ sk: string }>>)[config.READINGS_TABLE] ?? []
          ).slice(0, 5);
          const done = new Set(answered.map((item) => item.sk));
          return {
            ...output,
            Responses: { [config.READINGS_TABLE]: answered },
            UnprocessedKeys: {
              [config.READINGS_TABLE]: { Keys: asked?.Keys.filter((key) => !done.has(key.sk)) },
            },
          };
        },
      },
    ]);
    try {
      expect(await batchGet(config.READINGS_TABLE, keys, ['deviceId', 'sk'])).toHaveLength(20);
    } finally {
      partial.remove();
    }
    const stuck = injectFaults(dynamo, [
      {
        command: 'BatchGetItemCommand',
        times: Number.POSITIVE_INFINITY,
        output: (output, input) => ({
          ...output,
          Responses: {},
          UnprocessedKeys: input.RequestItems as Record<string, unknown>,
        }),
      },
    ]);
    try {
      await expect(
        batchGet(config.READINGS_TABLE, keys, ['deviceId', 'sk'], {
          retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
        }),
      ).rejects.toBeInstanceOf(UnavailableError);
    } finally {
      stuck.remove();
    }
  });
});

describe('sendMessages (SendMessageBatch: 10 entries and 1 MiB per call, 1 MiB per message)', () => {
  it('plans calls by bytes as well as entries', () => {
    const message = (id: number, bytes: number) => ({ id: String(id), body: 'x'.repeat(bytes) });
    const batches = planBatches(Array.from({ length: 10 }, (_, index) => message(index, 300_000)));
    expect(batches.map((batch) => batch.length)).toEqual([3, 3, 3, 1]);
    for (const batch of batches)
      expect(batch.reduce((sum, entry) => sum + entry.body.length, 0)).toBeLessThanOrEqual(
        MAX_SQS_BATCH_BYTES,
      );
    expect(
      planBatches(Array.from({ length: 25 }, (_, index) => message(index, 10))).map((b) => b.length),
    ).toEqual([10, 10, 5]);
  });

  it('sends ten 300 KB messages through the emulator, which refuses a batch over 1 MiB', async () => {
    const { queueUrl } = await createQueuePair({ visibilityTimeout: 30, maxReceiveCount: 5 });
    const failed = await sendMessages(
      queueUrl,
      Array.from({ length: 10 }, (_, index) => ({
        id: String(index),
        body: `${index}`.padEnd(300_000, 'x'),
      })),
    );
    expect(failed).toEqual([]);
    await eventually(async () => expect(await visibleMessages(queueUrl)).toBe(10));
  });

  it('reports a message over 1 MiB as failed (sender fault) and sends the rest', async () => {
    const { queueUrl } = await createQueuePair({ visibilityTimeout: 30, maxReceiveCount: 5 });
    const failed = await sendMessages(queueUrl, [
      { id: 'small', body: 'ok' },
      { id: 'huge', body: 'x'.repeat(1024 * 1024 + 1) },
    ]);
    expect(failed).toEqual([{ id: 'huge', code: 'MessageTooLarge', senderFault: true }]);
    await eventually(async () => expect(await visibleMessages(queueUrl)).toBe(1));
  });

  it('retries a throttled call and reports the entries when throttling persists', async () => {
    const { queueUrl } = await createQueuePair({ visibilityTimeout: 30, maxReceiveCount: 5 });
    const once = injectFaults(appSqs, [
      { command: 'SendMessageBatchCommand', times: 1, error: throttled('ThrottlingException') },
    ]);
    try {
      expect(await sendMessages(queueUrl, [{ id: 'a', body: 'a' }])).toEqual([]);
    } finally {
      once.remove();
    }
    const always = injectFaults(appSqs, [
      {
        command: 'SendMessageBatchCommand',
        times: Number.POSITIVE_INFINITY,
        error: throttled('ThrottlingException'),
      },
    ]);
    try {
      const failed = await sendMessages(queueUrl, [{ id: 'b', body: 'b' }], {
        retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
      });
      expect(failed).toEqual([{ id: 'b', code: 'ThrottlingException', senderFault: false }]);
    } finally {
      always.remove();
    }
  });
});

describe('redrive-dlq with dead letters of realistic size (issue 11, item 1)', () => {
  it('moves eight 300 KB dead letters back (ten at once would be a 2.4 MB batch)', async () => {
    const { queueUrl, dlqUrl } = await createQueuePair({ visibilityTimeout: 30, maxReceiveCount: 5 });
    for (let index = 0; index < 8; index += 1)
      await sqs.send(
        new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: `${index}`.padEnd(300_000, 'd') }),
      );
    const report = await redriveDeadLetters({
      deadLetterQueueUrl: dlqUrl,
      sourceQueueUrl: queueUrl,
      max: 100,
    });
    expect(report).toMatchObject({ moved: 8, failed: 0 });
    await eventually(async () => expect(await visibleMessages(queueUrl)).toBe(8));
  });
});
