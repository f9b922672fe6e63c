import { randomBytes } from 'node:crypto';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { compactAggregates, compactedItems } from '../../src/lib/aggregates/compact';
import { fieldTag } from '../../src/lib/aggregates/keys';
import { listFields, queryAggregates } from '../../src/lib/aggregates/query';
import { tagKey } from '../../src/lib/aggregates/sealed';
import { mergeStat, type Stat, statOf } from '../../src/lib/aggregates/stats';
import { batchPut } from '../../src/lib/aws/batch';
import { dynamo, dynamoClient } from '../../src/lib/aws/dynamo';
import { config } from '../../src/lib/config';
import { registerDevice } from '../../src/lib/devices/devices';
import { queryReadings } from '../../src/lib/readings/query';
import { storeMessages } from '../../src/lib/readings/store';
import {
  aggregatedMessage,
  expectedBuckets,
  expectSameBuckets,
  FIELDS,
  type RawReading,
  randomFreeform,
  valueAt,
} from '../support/aggregates';
import { failedFor, injectFaults } from '../support/faults';

// Aggregates through the real consumer, compaction and query code against DynamoDB Local: answers
// checked against values computed from the raw readings, redelivery, crashes and tampering.
const HOUR = 3_600_000;
const MINUTE = 60_000;
const deadline = () => Date.now() + 20_000;

async function newDevice(): Promise<string> {
  const deviceId = `ag_${randomBytes(6).toString('hex')}`;
  await registerDevice({ deviceId });
  return deviceId;
}

/** Readings spread over the last few closed hours and the current one. */
function randomReadings(count: number, from: number, to: number): RawReading[] {
  return Array.from({ length: count }, () => ({
    t: Math.floor(from + Math.random() * (to - from)),
    freeform: randomFreeform(),
  }));
}

const deliver = async (bodies: string[]) =>
  storeMessages(
    bodies.map((body) => ({ messageId: randomBytes(8).toString('hex'), body })),
    deadline(),
  );

/**
 * Compacts until the device has no pending partial of a closed hour left. The stack's own scheduled
 * run may compact at the same moment: both stay correct, but conflicting transactions wait for a run.
 */
async function compactFully(deviceId: string, closedBefore: number) {
  const results = [];
  for (let run = 0; run < 5; run += 1) {
    results.push(await compactAggregates(new Date()));
    const pending = (await partialItems(deviceId)).filter(
      (item) => item.pending !== undefined && Number(String(item.sk).slice(2, 15)) < closedBefore,
    );
    if (pending.length === 0) return results;
  }
  throw new Error(`partials still pending after 5 runs: ${JSON.stringify(results)}`);
}

async function partialItems(deviceId: string) {
  const { Items = [] } = await dynamo.send(
    new QueryCommand({
      TableName: config.AGGREGATES_TABLE,
      KeyConditionExpression: 'deviceId = :d AND begins_with(sk, :m)',
      ExpressionAttributeValues: { ':d': deviceId, ':m': 'm#' },
      ConsistentRead: true,
    }),
  );
  return Items;
}

async function expectMatches(deviceId: string, readings: RawReading[], from: number, to: number) {
  for (const [step, stepMs] of [
    ['1m', MINUTE],
    ['15m', 15 * MINUTE],
    ['1h', HOUR],
    ['1d', 24 * HOUR],
  ] as const) {
    for (const field of FIELDS) {
      const answer = await queryAggregates({ deviceId, field, from, to, step });
      expect(answer.unreadable).toBeUndefined();
      expectSameBuckets(answer.data, expectedBuckets(readings, field, from, to, stepMs));
    }
  }
}

describe('aggregates against DynamoDB Local', () => {
  const now = Date.now();
  const currentHour = now - (now % HOUR);
  const from = currentHour - 4 * HOUR;

  it('answers what the raw readings give, before and after compaction, at several steps and fields', async () => {
    const deviceId = await newDevice();
    const readings = randomReadings(240, from, now - 1_000);
    const messages = [];
    for (let index = 0; index < readings.length; index += 40)
      messages.push(JSON.stringify(await aggregatedMessage(deviceId, readings.slice(index, index + 40))));
    expect(await deliver(messages)).toEqual([]);
    await expectMatches(deviceId, readings, from, now);

    // (The stack's own scheduled compaction may get there first: either way the hours are compacted.)
    await compactAggregates(new Date());
    // Closed hours are compacted (tombstones left), the current hour's partials stay pending.
    const partials = await partialItems(deviceId);
    expect(partials.some((item) => item.c !== undefined && item.ct === undefined)).toBe(true);
    expect(
      partials
        .filter((item) => item.pending !== undefined)
        .every((item) => Number(item.sk.slice(2, 15)) >= currentHour - HOUR),
    ).toBe(true);
    await expectMatches(deviceId, readings, from, now);

    // A range not aligned to the step is rounded out to whole steps; an unknown field has no buckets.
    const odd = await queryAggregates({
      deviceId,
      field: 'temp',
      from: from + 7 * MINUTE,
      to: now - 3 * MINUTE,
      step: '1h',
    });
    expectSameBuckets(odd.data, expectedBuckets(readings, 'temp', from + 7 * MINUTE, now - 3 * MINUTE, HOUR));
    expect((await queryAggregates({ deviceId, field: 'nope', from, to: now })).data).toEqual([]);

    const fields = await listFields(deviceId, 100);
    expect(fields.data).toEqual(
      [...FIELDS].sort().map((field) => ({
        field,
        count: readings.filter((reading) => valueAt(reading.freeform, field) !== undefined).length,
      })),
    );
  });

  it('answers for seeded compacted history (the bench seeds this way) what the raw readings give', async () => {
    const deviceId = await newDevice();
    const week = randomReadings(2_000, from - 6 * 24 * HOUR, from);
    const minutes = new Map<number, Stat>();
    for (const reading of week) {
      const value = valueAt(reading.freeform, 'temp');
      const minute = reading.t - (reading.t % MINUTE);
      if (value !== undefined) minutes.set(minute, mergeStat(minutes.get(minute), statOf(value)));
    }
    const items = await compactedItems(deviceId, 'temp', minutes);
    expect(
      await batchPut(
        items.map((item) => ({ table: config.AGGREGATES_TABLE, item, keyAttributes: ['deviceId', 'sk'] })),
      ),
    ).toEqual([]);
    for (const [step, stepMs] of [
      ['1h', HOUR],
      ['1d', 24 * HOUR],
    ] as const) {
      const answer = await queryAggregates({
        deviceId,
        field: 'temp',
        from: from - 7 * 24 * HOUR,
        to: from,
        step,
      });
      expectSameBuckets(answer.data, expectedBuckets(week, 'temp', from - 7 * 24 * HOUR, from, stepMs));
    }
    const minuteAnswer = await queryAggregates({
      deviceId,
      field: 'temp',
      from: from - 12 * HOUR,
      to: from,
      step: '15m',
    });
    expectSameBuckets(minuteAnswer.data, expectedBuckets(week, 'temp', from - 12 * HOUR, from, 15 * MINUTE));
    expect((await listFields(deviceId, 10)).data).toEqual([
      {
        field: 'temp',
        count: week.filter((reading) => valueAt(reading.freeform, 'temp') !== undefined).length,
      },
    ]);
  });

  it('chooses the finest step giving at most 1,000 buckets when none is given', async () => {
    const deviceId = await newDevice();
    const readings = randomReadings(50, from, now - 1_000);
    expect(await deliver([JSON.stringify(await aggregatedMessage(deviceId, readings))])).toEqual([]);
    const day = await queryAggregates({ deviceId, field: 'temp', from: now - 24 * HOUR, to: now });
    expect(day.step).toBe('5m');
    expectSameBuckets(day.data, expectedBuckets(readings, 'temp', now - 24 * HOUR, now, 5 * MINUTE));
    expect(
      (await queryAggregates({ deviceId, field: 'temp', from: now - 300 * 24 * HOUR, to: now })).step,
    ).toBe('1d');
  });

  it('never aggregates readings written with a db_password', async () => {
    const deviceId = await newDevice();
    const readings = randomReadings(60, from, now - 1_000).map((reading, index) =>
      index % 2 === 0 ? { ...reading, password: 'secret-password' } : reading,
    );
    expect(await deliver([JSON.stringify(await aggregatedMessage(deviceId, readings))])).toEqual([]);
    const answer = await queryAggregates({ deviceId, field: 'temp', from, to: now, step: '1h' });
    const plain = readings.filter((reading) => !reading.password);
    expectSameBuckets(answer.data, expectedBuckets(plain, 'temp', from, now, HOUR));
    const total = answer.data.reduce((sum, bucket) => sum + bucket.count, 0);
    expect(total).toBe(plain.filter((reading) => typeof reading.freeform.temp === 'number').length);
  });

  it('counts a message delivered twice once: in one batch, again later, and again after compaction', async () => {
    const deviceId = await newDevice();
    const readings = randomReadings(80, from, currentHour - 1_000);
    const body = JSON.stringify(await aggregatedMessage(deviceId, readings));
    expect(await deliver([body, body])).toEqual([]);
    expect(await deliver([body])).toEqual([]);
    await expectMatches(deviceId, readings, from, now);
    await compactFully(deviceId, currentHour);
    expect((await partialItems(deviceId)).every((item) => item.pending === undefined)).toBe(true);
    // Delivered again days later (SQS redelivery, a DLQ redrive): the tombstones keep it out.
    expect(await deliver([body])).toEqual([]);
    await expectMatches(deviceId, readings, from, now);
    await compactAggregates(new Date());
    await expectMatches(deviceId, readings, from, now);
  });

  it('stores a message too old for its tombstones without aggregates, rather than risk a recount', async () => {
    const deviceId = await newDevice();
    const readings = randomReadings(10, from, currentHour - 1_000);
    // Sealed as it arrived then (an edited arrival time would leave its readings unreadable).
    const message = await aggregatedMessage(deviceId, readings, {
      arrivedAt: Date.now() - config.AGGREGATES_PARTIAL_RETENTION_DAYS * 24 * HOUR,
    });
    expect(await deliver([JSON.stringify(message)])).toEqual([]);
    expect(await partialItems(deviceId)).toEqual([]);
    const page = await queryReadings({ deviceId, window: { kind: 'all' }, limit: 100 });
    expect({ rows: page.data.length, unreadable: page.unreadable }).toEqual({
      rows: 10,
      unreadable: undefined,
    });
  });

  it('reports a message whose partials cannot be written as failed, and a retry counts it once', async () => {
    const deviceId = await newDevice();
    const readings = randomReadings(30, from, now - 1_000);
    const body = JSON.stringify(await aggregatedMessage(deviceId, readings));
    const fault = injectFaults(dynamoClient, [
      {
        command: 'PutItemCommand',
        when: (input) => input.TableName === config.AGGREGATES_TABLE,
        times: 1,
        error: failedFor('AccessDeniedException'),
      },
    ]);
    try {
      const messageId = 'm-failing';
      expect(await storeMessages([{ messageId, body }], deadline())).toEqual([messageId]);
    } finally {
      fault.remove();
    }
    expect(await deliver([body])).toEqual([]);
    await expectMatches(deviceId, readings, from, now);
  });

  it('compacts exactly once when a run crashes halfway, and a re-run changes nothing', async () => {
    const deviceId = await newDevice();
    // Many fields per partial make small transactions: several per hour.
    const wide = (index: number) =>
      Object.fromEntries(Array.from({ length: 30 }, (_, field) => [`f${field}`, index * 31 + field]));
    const readings: RawReading[] = Array.from({ length: 24 }, (_, index) => ({
      t: currentHour - 2 * HOUR + index * 3 * MINUTE + 1_000,
      freeform: { ...wide(index), temp: index },
    }));
    const bodies = [];
    for (let index = 0; index < readings.length; index += 1)
      bodies.push(JSON.stringify(await aggregatedMessage(deviceId, [readings[index] as RawReading])));
    expect(await deliver(bodies)).toEqual([]);

    let transactions = 0;
    const fault = injectFaults(dynamoClient, [
      {
        command: 'TransactWriteItemsCommand',
        // The third transaction of this device fails as if the function died there.
        when: (input) => {
          const items = input.TransactItems as Array<{
            Put?: { Item: { deviceId: unknown } };
            Update?: { Key: { deviceId: unknown } };
          }>;
          const mine = items.some(
            (item) => (item.Put?.Item.deviceId ?? item.Update?.Key.deviceId) === deviceId,
          );
          return mine && ++transactions === 3;
        },
        times: 1,
        error: failedFor('ValidationException'),
      },
    ]);
    try {
      await expect(compactAggregates(new Date())).rejects.toThrow();
    } finally {
      fault.remove();
    }
    // Half compacted: the answer is already exact (summaries + the partials still pending).
    expect((await partialItems(deviceId)).some((item) => item.pending !== undefined)).toBe(true);
    await expectMatches(deviceId, readings, from, now);
    for (const field of ['f0', 'f29']) {
      const answer = await queryAggregates({ deviceId, field, from, to: now, step: '1h' });
      expectSameBuckets(answer.data, expectedBuckets(readings, field, from, now, HOUR));
    }

    await compactFully(deviceId, currentHour);
    expect((await partialItems(deviceId)).every((item) => item.pending === undefined)).toBe(true);
    const state = await dynamo.send(
      new GetCommand({
        TableName: config.AGGREGATES_TABLE,
        Key: { deviceId, sk: 'state' },
        ConsistentRead: true,
      }),
    );
    const again = await compactAggregates(new Date());
    const stateAfter = await dynamo.send(
      new GetCommand({
        TableName: config.AGGREGATES_TABLE,
        Key: { deviceId, sk: 'state' },
        ConsistentRead: true,
      }),
    );
    expect(stateAfter.Item?.v).toBe(state.Item?.v);
    expect(again.unreadable).toBe(0);
    await expectMatches(deviceId, readings, from, now);
    const fields = await listFields(deviceId, 10);
    expect(fields.data).toHaveLength(10);
    expect(fields.next).toBeDefined();
    const all = [...fields.data];
    let next = fields.next;
    while (next) {
      const page = await listFields(deviceId, 10, next);
      all.push(...page.data);
      next = page.next;
    }
    expect(all.map(({ field }) => field).sort()).toEqual(
      [...Array.from({ length: 30 }, (_, field) => `f${field}`), 'temp'].sort(),
    );
    expect(all.every(({ count }) => count === 24)).toBe(true);
  });

  it('withholds and reports buckets whose summary or partial was tampered with, and compaction leaves them alone', async () => {
    const deviceId = await newDevice();
    const day = now - (now % (24 * HOUR)) - 10 * 24 * HOUR;
    const past = randomReadings(60, day + HOUR, day + 4 * HOUR);
    const current = randomReadings(20, currentHour, now - 1_000);
    expect(await deliver([JSON.stringify(await aggregatedMessage(deviceId, [...past, ...current]))])).toEqual(
      [],
    );
    await compactAggregates(new Date());
    const { Items = [] } = await dynamo.send(
      new QueryCommand({
        TableName: config.AGGREGATES_TABLE,
        KeyConditionExpression: 'deviceId = :d',
        ExpressionAttributeValues: { ':d': deviceId },
        ConsistentRead: true,
      }),
    );
    const flipped = (item: Record<string, unknown>) => {
      const ct = Buffer.from(item.ct as Uint8Array);
      ct[0] = (ct[0] as number) ^ 1;
      return { ...item, ct };
    };
    const tempTag = fieldTag((await tagKey({ create: false })) as Buffer, deviceId, 'temp');
    // temp's day summary altered: its hours withheld at steps of 1h and more, its minutes still fine.
    const tempDay = Items.find((item) => item.sk === `d#${tempTag}#${String(day).padStart(13, '0')}`);
    expect(tempDay).toBeDefined();
    await dynamo.send(
      new PutCommand({
        TableName: config.AGGREGATES_TABLE,
        Item: flipped(tempDay as Record<string, unknown>),
      }),
    );
    const hourly = await queryAggregates({
      deviceId,
      field: 'temp',
      from: day,
      to: day + 24 * HOUR,
      step: '1h',
    });
    expect(hourly.data).toEqual([]);
    expect(hourly.unreadable).toHaveLength(24);
    const minutes = await queryAggregates({
      deviceId,
      field: 'temp',
      from: day + HOUR,
      to: day + 4 * HOUR,
      step: '15m',
    });
    expect(minutes.unreadable).toBeUndefined();
    expectSameBuckets(minutes.data, expectedBuckets(past, 'temp', day + HOUR, day + 4 * HOUR, 15 * MINUTE));

    // A live partial's content moved under another key fails to open: that minute is withheld.
    const live = Items.find((item) => item.pending !== undefined) as Record<string, unknown>;
    const forgedMinute = currentHour + 59 * MINUTE;
    await dynamo.send(
      new PutCommand({
        TableName: config.AGGREGATES_TABLE,
        Item: { ...live, sk: `m#${String(forgedMinute).padStart(13, '0')}#forged` },
      }),
    );
    const recent = await queryAggregates({
      deviceId,
      field: 'temp',
      from: currentHour,
      to: currentHour + HOUR,
      step: '1m',
    });
    expect(recent.unreadable).toEqual([new Date(forgedMinute).toISOString()]);
    expectSameBuckets(recent.data, expectedBuckets(current, 'temp', currentHour, forgedMinute, MINUTE));

    // A late message for that day: compaction will not merge into the altered summary.
    const late = randomReadings(5, day + 2 * HOUR, day + 3 * HOUR);
    expect(await deliver([JSON.stringify(await aggregatedMessage(deviceId, late))])).toEqual([]);
    const result = await compactAggregates(new Date());
    expect(result.unreadable).toBeGreaterThan(0);
    const after = await dynamo.send(
      new GetCommand({
        TableName: config.AGGREGATES_TABLE,
        Key: { deviceId, sk: (tempDay as { sk: string }).sk },
        ConsistentRead: true,
      }),
    );
    expect(after.Item?.v).toBe(tempDay?.v);
    // The forged partial is reported by the fields list too (its counts cannot be read).
    expect((await listFields(deviceId, 100)).unreadable).toBe(1);
  });
});
