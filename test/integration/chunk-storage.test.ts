import { randomBytes, randomUUID } from 'node:crypto';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { queryAll } from '../../src/lib/aws/paging';
import { config } from '../../src/lib/config';
import { CHUNK_SPAN } from '../../src/lib/readings/chunks';
import type { ReadingsPage, Window } from '../../src/lib/readings/query';
import { arrivalsPartition } from '../../src/lib/readings/rows';
import { injectFaults } from '../support/faults';
import { idsOf, itemsInPartition, sealedMessage, sealedMessageV2, storedReadings } from '../support/readings';
import { incompressibleText } from '../support/text';

// Issue 13: readings stored as chunks keep every promise of the readings API, through DynamoDB Local:
// chunk boundaries, cursors inside chunks, rows stored before chunks read in the same answers,
// redelivery and partial failures, tampering, the latest reading and maxtime.

type App = {
  query: typeof import('../../src/lib/readings/query');
  store: typeof import('../../src/lib/readings/store');
  activity: typeof import('../../src/lib/readings/activity');
  latest: typeof import('../../src/lib/readings/latest');
  dynamo: typeof import('../../src/lib/aws/dynamo').dynamo;
};

async function container(env: Record<string, string> = {}): Promise<App> {
  Object.assign(process.env, env);
  let app: App | undefined;
  await jest.isolateModulesAsync(async () => {
    app = {
      query: await import('../../src/lib/readings/query'),
      store: await import('../../src/lib/readings/store'),
      activity: await import('../../src/lib/readings/activity'),
      latest: await import('../../src/lib/readings/latest'),
      dynamo: (await import('../../src/lib/aws/dynamo')).dynamo,
    };
  });
  for (const name of Object.keys(env)) delete process.env[name];
  return app as App;
}

const newDevice = () => `ck_${randomBytes(6).toString('hex')}`;
const deadline = () => Date.now() + 20_000;

async function store(app: App, ...messages: unknown[]) {
  const failed = await app.store.storeMessages(
    messages.map((message) => ({ messageId: randomUUID(), body: JSON.stringify(message) })),
    deadline(),
  );
  expect(failed).toEqual([]);
}

/** Every page of a window, following cursors. */
async function allPages(app: App, deviceId: string, window: Window, limit: number, password?: string) {
  const pages: ReadingsPage[] = [];
  let cursor: string | undefined;
  do {
    const page = await app.query.queryReadings({ deviceId, window, limit, cursor, password });
    pages.push(page);
    cursor = page.next;
    if (pages.length > 2_000) throw new Error('cursor does not progress');
  } while (cursor);
  return { pages, rows: pages.flatMap((page) => page.data) };
}

const all = { kind: 'all' } as const;

/** Every item of a partition (all pages: chunks of large readings pass DynamoDB's 1 MB per page). */
const chunkItems = (deviceId: string) =>
  queryAll({
    TableName: config.READINGS_TABLE,
    KeyConditionExpression: 'deviceId = :d',
    ExpressionAttributeValues: { ':d': deviceId },
  });

describe('readings stored as chunks', () => {
  it('stores 1,000 readings of one request as one item and pages through them with cursors inside it', async () => {
    const app = await container();
    const deviceId = newDevice();
    const message = await sealedMessage(deviceId, 1_000);
    await store(app, message);
    expect(await chunkItems(deviceId)).toHaveLength(1);
    const { pages, rows } = await allPages(app, deviceId, all, 7);
    expect(pages.length).toBe(Math.ceil(1_000 / 7));
    expect(rows.map((row) => row.id).sort()).toEqual(idsOf(message).sort());
    expect(new Set(rows.map((row) => row.id)).size).toBe(1_000);
    for (const row of rows) expect(row.freeform).toEqual({ n: row.relative_timestamp });
    // Across pages, relative times only grow (one chunk, in relative-time order).
    const times = rows.map((row) => row.relative_timestamp);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('splits a request of large incompressible readings into items DynamoDB accepts, and reads them back', async () => {
    const app = await container();
    const deviceId = newDevice();
    const blobs = Array.from({ length: 120 }, () => incompressibleText(14_000));
    const message = await sealedMessage(deviceId, blobs.length, 0, {
      freeform: (index) => ({ blob: blobs[index] }),
    });
    expect(message.chunks.length).toBeGreaterThanOrEqual(7);
    await store(app, message);
    const items = await chunkItems(deviceId);
    expect(items).toHaveLength(message.chunks.length);
    for (const item of items) expect((item.ct as Uint8Array).length).toBeLessThan(300_000);
    const { rows } = await allPages(app, deviceId, all, 1_000);
    expect(rows.map((row) => (row.freeform as { blob: string }).blob)).toEqual(blobs);
  });

  it('answers windows that start or end inside a chunk and across bucket edges exactly', async () => {
    const app = await container();
    const deviceId = newDevice();
    // 300 readings around a bucket edge: two chunks, one on each side.
    const edge = 3 * CHUNK_SPAN;
    const message = await sealedMessage(deviceId, 300, edge - 150);
    await store(app, message);
    expect(await chunkItems(deviceId)).toHaveLength(2);
    const cases: Array<[number, number]> = [
      [edge - 150, edge + 149],
      [edge - 10, edge + 10],
      [edge - 1, edge - 1],
      [edge, edge],
      [edge + 100, edge + 100_000],
      [edge - 1_000_000, edge - 140],
    ];
    for (const [start, end] of cases) {
      for (const limit of [1, 3, 1_000]) {
        const { rows } = await allPages(app, deviceId, { kind: 'between', start, end }, limit);
        const expected: number[] = [];
        for (let rt = Math.max(start, edge - 150); rt <= Math.min(end, edge + 149); rt += 1)
          expected.push(rt);
        expect(rows.map((row) => row.relative_timestamp).sort((a, b) => a - b)).toEqual(expected);
      }
    }
    const since = await allPages(app, deviceId, { kind: 'since', start: edge + 140 }, 4);
    expect(since.rows.map((row) => row.relative_timestamp).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 10 }, (_, index) => edge + 140 + index),
    );
  });

  it('refuses a cursor from one window in another even when it points into the same chunk', async () => {
    const app = await container();
    const deviceId = newDevice();
    await store(app, await sealedMessage(deviceId, 50));
    const first = await app.query.queryReadings({
      deviceId,
      window: { kind: 'between', start: 0, end: 20 },
      limit: 5,
    });
    expect(first.next).toBeDefined();
    await expect(
      app.query.queryReadings({
        deviceId,
        window: { kind: 'between', start: 0, end: 30 },
        limit: 5,
        cursor: first.next,
      }),
    ).rejects.toMatchObject({ status: 400 });
    const second = await app.query.queryReadings({
      deviceId,
      window: { kind: 'between', start: 0, end: 20 },
      limit: 5,
      cursor: first.next,
    });
    expect(second.data.map((row) => row.relative_timestamp)).toEqual([5, 6, 7, 8, 9]);
  });

  it('reads rows stored before chunks and chunks in the same answers (window, paging, seconds/{n}, maxtime)', async () => {
    const app = await container();
    const deviceId = newDevice();
    // Interleaved relative times: old rows at even times 0–78, chunks at 0–39.
    const old = await sealedMessageV2(deviceId, 40, 0);
    old.readings = old.readings.map((reading, index) => ({ ...reading, rt: index * 2 }));
    const fresh = await sealedMessage(deviceId, 40, 0);
    await store(app, old, fresh);
    const expectedIds = [...old.readings.map((reading) => reading.id), ...idsOf(fresh)].sort();
    for (const limit of [1, 6, 100]) {
      const { rows } = await allPages(app, deviceId, all, limit);
      expect(rows.map((row) => row.id).sort()).toEqual(expectedIds);
      const recent = await allPages(app, deviceId, { kind: 'recent', seconds: 600 }, limit);
      expect(recent.rows.map((row) => row.id).sort()).toEqual(expectedIds);
    }
    const between = await allPages(app, deviceId, { kind: 'between', start: 10, end: 20 }, 3);
    expect(between.rows.map((row) => row.relative_timestamp).sort((a, b) => a - b)).toEqual([
      10, 10, 11, 12, 12, 13, 14, 14, 15, 16, 16, 17, 18, 18, 19, 20, 20,
    ]);
    expect(await app.activity.maxRelativeTime(deviceId)).toBe(78);
    expect(await storedReadings(deviceId)).toBe(80);
  });

  it('stores a message delivered twice, or in one batch twice, once', async () => {
    const app = await container();
    const deviceId = newDevice();
    const message = await sealedMessage(deviceId, 120);
    const body = JSON.stringify(message);
    expect(
      await app.store.storeMessages(
        [
          { messageId: 'a', body },
          { messageId: 'b', body },
        ],
        deadline(),
      ),
    ).toEqual([]);
    expect(await app.store.storeMessages([{ messageId: 'c', body }], deadline())).toEqual([]);
    expect(await storedReadings(deviceId)).toBe(120);
    const { rows } = await allPages(app, deviceId, all, 50);
    expect(rows).toHaveLength(120);
    const recent = await allPages(app, deviceId, { kind: 'recent', seconds: 600 }, 50);
    expect(recent.rows).toHaveLength(120);
  });

  it('fails only the message whose chunk could not be written, and stores it whole on redelivery', async () => {
    const app = await container();
    const healthy = newDevice();
    const doomed = newDevice();
    const good = JSON.stringify(await sealedMessage(healthy, 30));
    const bad = JSON.stringify(await sealedMessage(doomed, 30));
    // DynamoDB keeps answering the doomed device's items unprocessed (a partial batch failure).
    type Requests = Record<string, Array<{ PutRequest?: { Item?: Record<string, unknown> } }>>;
    const faults = injectFaults(app.dynamo, [
      {
        command: 'BatchWriteItemCommand',
        times: Number.POSITIVE_INFINITY,
        output: (output, input) => {
          const unprocessed: Requests = {};
          for (const [table, requests] of Object.entries(input.RequestItems as Requests)) {
            const doomedOnes = requests.filter((request) =>
              String(request.PutRequest?.Item?.deviceId).startsWith(doomed),
            );
            if (doomedOnes.length > 0) unprocessed[table] = doomedOnes;
          }
          return { ...output, UnprocessedItems: unprocessed };
        },
      },
    ]);
    try {
      expect(
        await app.store.storeMessages(
          [
            { messageId: 'good', body: good },
            { messageId: 'bad', body: bad },
          ],
          Date.now() + 3_000,
        ),
      ).toEqual(['bad']);
    } finally {
      faults.remove();
    }
    expect(await storedReadings(healthy)).toBe(30);
    // Whatever DynamoDB did with the unconfirmed chunk, no arrival entry or latest reading names it.
    expect(await itemsInPartition(arrivalsPartition(doomed))).toBe(0);
    expect(await app.latest.latestReading(doomed)).toBeNull();
    expect(await app.store.storeMessages([{ messageId: 'bad', body: bad }], deadline())).toEqual([]);
    expect(await storedReadings(doomed)).toBe(30);
    expect((await allPages(app, doomed, all, 100)).rows).toHaveLength(30);
    expect((await allPages(app, doomed, { kind: 'recent', seconds: 600 }, 100)).rows).toHaveLength(30);
    expect(await app.latest.latestReading(doomed)).not.toBeNull();
  });

  it('reports the rows of a tampered chunk by id, returns the other chunks, and names a chunk whose index was edited', async () => {
    const app = await container();
    const deviceId = newDevice();
    const first = await sealedMessage(deviceId, 5, 0);
    const second = await sealedMessage(deviceId, 5, 100);
    await store(app, first, second);
    const [tampered, edited] = (await chunkItems(deviceId)) as Array<{
      sk: string;
      ct: Uint8Array;
      ix: Uint8Array;
    }>;
    const ct = Buffer.from(tampered?.ct as Uint8Array);
    ct[3] = (ct[3] as number) ^ 0x01;
    await app.dynamo.send(
      new UpdateCommand({
        TableName: config.READINGS_TABLE,
        Key: { deviceId, sk: tampered?.sk },
        UpdateExpression: 'SET ct = :ct',
        ExpressionAttributeValues: { ':ct': ct },
      }),
    );
    const page = await app.query.queryReadings({
      deviceId,
      window: { kind: 'between', start: 1, end: 200 },
      limit: 100,
    });
    expect(page.unreadable).toEqual(idsOf(first).slice(1));
    expect(page.data.map((row) => row.id).sort()).toEqual(idsOf(second).sort());

    await app.dynamo.send(
      new UpdateCommand({
        TableName: config.READINGS_TABLE,
        Key: { deviceId, sk: edited?.sk },
        UpdateExpression: 'SET ix = :ix',
        ExpressionAttributeValues: { ':ix': Buffer.from([0xff, 0xff]) },
      }),
    );
    const after = await app.query.queryReadings({ deviceId, window: all, limit: 100 });
    expect(after.data).toEqual([]);
    expect(after.unreadable).toEqual([...idsOf(first), `${second.batchId}.0`]);
  });

  it('counts the rows of chunks sealed with another password as hidden, within the bound on rows examined', async () => {
    const app = await container({ QUERY_MAX_SCANNED_ROWS: '25' });
    const deviceId = newDevice();
    const hidden = await sealedMessage(deviceId, 60, 0);
    hidden.chunks = hidden.chunks.map((chunk) => ({ ...chunk, pv: 'someone-elses-password' }));
    const plain = await sealedMessage(deviceId, 2, 100);
    await store(app, hidden, plain);
    const { pages, rows } = await allPages(app, deviceId, all, 10);
    expect(pages.map((page) => page.hidden ?? 0)).toEqual([25, 25, 10]);
    expect(rows.map((row) => row.relative_timestamp)).toEqual([100, 101]);
    // (The chunk sealed under the pretended verifier does not open: it is never decrypted, only counted.)
  });

  it('keeps each device’s latest reading one cheap read away, never moved backwards', async () => {
    const app = await container();
    const deviceId = newDevice();
    expect(await app.latest.latestReading(deviceId)).toBeNull();
    const older = await sealedMessage(deviceId, 3, 0);
    const newer = await sealedMessage(deviceId, 3, 10);
    newer.latest = { ...newer.latest, t: older.latest.t + 5_000 };
    await store(app, newer);
    await store(app, older); // arrives later, but its readings are older
    expect(await app.latest.latestReading(deviceId)).toEqual({
      time: new Date(newer.latest.t).toISOString(),
      id: newer.latest.id,
      relative_timestamp: newer.latest.rt,
    });
    // One small item per message under <device>#latest, nothing of the readings' content.
    const items = await chunkItems(`${deviceId}#latest`);
    expect(items).toHaveLength(2);
    for (const item of items) expect(Object.keys(item).sort()).toEqual(['deviceId', 'rt', 'sk']);
    // Redelivered, the older message changes nothing.
    await store(app, older);
    expect(await chunkItems(`${deviceId}#latest`)).toHaveLength(2);
    expect((await app.latest.latestReading(deviceId))?.id).toBe(newer.latest.id);
  });

  it('finds maxtime in a chunk whose lowest time is below another chunk’s', async () => {
    const app = await container();
    const deviceId = newDevice();
    const base = 7 * CHUNK_SPAN;
    // One chunk spans its whole bucket: its highest time beats a chunk whose lowest time is later.
    const wide = await sealedMessage(deviceId, 2, base, {
      relativeTime: (index) => (index === 0 ? base : base + CHUNK_SPAN - 1),
    });
    const later = await sealedMessage(deviceId, 1, base + 1_000);
    await store(app, later);
    expect(await app.activity.maxRelativeTime(deviceId)).toBe(base + 1_000);
    await store(app, wide);
    expect(await chunkItems(deviceId)).toHaveLength(2);
    expect(await app.activity.maxRelativeTime(deviceId)).toBe(base + CHUNK_SPAN - 1);
    // A row stored before chunks, a bucket further up, wins over both.
    await store(app, await sealedMessageV2(deviceId, 1, base + CHUNK_SPAN + 5));
    expect(await app.activity.maxRelativeTime(deviceId)).toBe(base + CHUNK_SPAN + 5);
    expect(await app.activity.maxRelativeTime(newDevice())).toBeNull();
  });
});
