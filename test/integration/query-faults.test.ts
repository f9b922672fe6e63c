import { randomBytes, randomUUID } from 'node:crypto';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '../../src/lib/config';
import { readingSortKey } from '../../src/lib/readings/rows';
import { injectFaults, throttled } from '../support/faults';
import { sealedMessageV2 as sealedMessage } from '../support/readings';

// Issue 11, items 2 and 4: a query never answers a silently smaller page. Transient failures of the
// key provider or DynamoDB give a retryable 503; a row that fails authentication is reported; a page
// stays within Lambda's 6 MB answer and within a bound of rows examined. Real DynamoDB Local, faults
// injected on the application's own clients; each test loads the application fresh (a cold container).

type App = {
  query: typeof import('../../src/lib/readings/query');
  store: typeof import('../../src/lib/readings/store');
  aws: typeof import('../../src/lib/aws/dynamo');
  errors: typeof import('../../src/lib/errors');
};

async function coldContainer(env: Record<string, string> = {}): Promise<App> {
  Object.assign(process.env, env);
  let app: App | undefined;
  await jest.isolateModulesAsync(async () => {
    app = {
      query: await import('../../src/lib/readings/query'),
      store: await import('../../src/lib/readings/store'),
      aws: await import('../../src/lib/aws/dynamo'),
      errors: await import('../../src/lib/errors'),
    };
  });
  for (const name of Object.keys(env)) delete process.env[name];
  return app as App;
}

/** Stores `count` readings for a new device through the consumer; returns the device id and reading ids. */
async function deviceWithReadings(app: App, count: number) {
  const deviceId = `q_${randomBytes(6).toString('hex')}`;
  const message = await sealedMessage(deviceId, count);
  const failed = await app.store.storeMessages(
    [{ messageId: randomUUID(), body: JSON.stringify(message) }],
    Date.now() + 20_000,
  );
  expect(failed).toEqual([]);
  return {
    deviceId,
    ids: message.readings.map((reading) => reading.id),
    rts: message.readings.map((r) => r.rt),
  };
}

const all = { kind: 'all' } as const;

describe('query faults (through DynamoDB Local)', () => {
  it('reports a tampered row by id instead of leaving it out silently, and returns the rest', async () => {
    const app = await coldContainer();
    const { deviceId, ids, rts } = await deviceWithReadings(app, 5);
    const key = { deviceId, sk: readingSortKey(rts[2] as number, ids[2] as string) };
    const { Item } = await app.aws.dynamo.send(
      new GetCommand({ TableName: config.READINGS_TABLE, Key: key }),
    );
    const ct = Buffer.from(Item?.ct as Uint8Array);
    ct[0] = (ct[0] as number) ^ 0xff;
    await app.aws.dynamo.send(
      new UpdateCommand({
        TableName: config.READINGS_TABLE,
        Key: key,
        UpdateExpression: 'SET ct = :ct',
        ExpressionAttributeValues: { ':ct': ct },
      }),
    );
    const page = await app.query.queryReadings({ deviceId, window: all, limit: 100 });
    expect(page.data.map((row) => row.id).sort()).toEqual(ids.filter((_, index) => index !== 2).sort());
    expect(page.unreadable).toEqual([ids[2]]);
  });

  it('answers 503 (retryable) when a row names a data key that cannot be found, never a smaller page', async () => {
    const app = await coldContainer();
    const { deviceId } = await deviceWithReadings(app, 3);
    const orphan = await sealedMessage(deviceId, 1, 1_000);
    await app.aws.dynamo.send(
      new PutCommand({
        TableName: config.READINGS_TABLE,
        Item: {
          deviceId,
          sk: readingSortKey(1_000, 'orphan-0'),
          id: 'orphan-0',
          rt: 1_000,
          it: 1,
          at: Date.now(),
          kid: randomUUID(),
          iv: Buffer.from(orphan.readings[0]?.iv as string, 'base64'),
          ct: Buffer.from(orphan.readings[0]?.ct as string, 'base64'),
        },
      }),
    );
    const attempt = app.query.queryReadings({ deviceId, window: all, limit: 100 });
    await expect(attempt).rejects.toBeInstanceOf(app.errors.UnavailableError);
    await expect(attempt).rejects.toMatchObject({ status: 503, retryAfterSeconds: 1 });
  });

  it('answers 503 when the keys table is throttled on a cold container', async () => {
    const writer = await coldContainer();
    const { deviceId } = await deviceWithReadings(writer, 3);
    const reader = await coldContainer();
    const faults = injectFaults(reader.aws.dynamo, [
      {
        command: 'GetItemCommand',
        when: (input) => input.TableName === config.KEYS_TABLE,
        times: Number.POSITIVE_INFINITY,
        error: throttled(),
      },
    ]);
    try {
      await expect(reader.query.queryReadings({ deviceId, window: all, limit: 100 })).rejects.toBeInstanceOf(
        reader.errors.UnavailableError,
      );
    } finally {
      faults.remove();
    }
    // Once the throttling passes, the same query answers every row.
    expect((await reader.query.queryReadings({ deviceId, window: all, limit: 100 })).data).toHaveLength(3);
  });

  it('answers 503 when DynamoDB keeps the rows of "seconds/{n}" unprocessed', async () => {
    const app = await coldContainer();
    const { deviceId } = await deviceWithReadings(app, 4);
    const faults = injectFaults(app.aws.dynamo, [
      {
        command: 'BatchGetItemCommand',
        times: Number.POSITIVE_INFINITY,
        output: (output, input) => ({
          ...output,
          Responses: {},
          UnprocessedKeys: input.RequestItems as object,
        }),
      },
    ]);
    try {
      await expect(
        app.query.queryReadings({ deviceId, window: { kind: 'recent', seconds: 300 }, limit: 100 }),
      ).rejects.toBeInstanceOf(app.errors.UnavailableError);
    } finally {
      faults.remove();
    }
    const page = await app.query.queryReadings({
      deviceId,
      window: { kind: 'recent', seconds: 300 },
      limit: 100,
    });
    expect(page.data).toHaveLength(4);
  });

  it('bounds the rows one request examines: hidden rows end the page early with a cursor and a count', async () => {
    const app = await coldContainer({ QUERY_MAX_SCANNED_ROWS: '20' });
    const deviceId = `q_${randomBytes(6).toString('hex')}`;
    // 60 rows sealed with a password nobody presents here, then 1 plain row after them.
    const hidden = await sealedMessage(deviceId, 60, 0);
    hidden.readings = hidden.readings.map((reading) => ({ ...reading, pv: 'someone-elses-password' }));
    const plain = await sealedMessage(deviceId, 1, 100);
    expect(
      await app.store.storeMessages(
        [
          { messageId: randomUUID(), body: JSON.stringify(hidden) },
          { messageId: randomUUID(), body: JSON.stringify(plain) },
        ],
        Date.now() + 20_000,
      ),
    ).toEqual([]);
    const pages = [];
    let cursor: string | undefined;
    do {
      const page = await app.query.queryReadings({ deviceId, window: all, limit: 5, cursor });
      pages.push(page);
      cursor = page.next;
    } while (cursor && pages.length < 10);
    expect(pages).toHaveLength(4);
    expect(pages.slice(0, 3).map((page) => [page.data.length, page.hidden])).toEqual([
      [0, 20],
      [0, 20],
      [0, 20],
    ]);
    expect(pages[3]?.data.map((row) => row.relative_timestamp)).toEqual([100]);
  });

  it('ends a page before its rows exceed QUERY_MAX_PAGE_BYTES, resuming exactly after them', async () => {
    const app = await coldContainer({ QUERY_MAX_PAGE_BYTES: '65536' });
    const deviceId = `q_${randomBytes(6).toString('hex')}`;
    const { readingsMessageV2, sealReadings } = await import('../../src/lib/readings/messages');
    const { currentDataKey } = await import('../../src/lib/crypto/data-keys');
    const { rowKey } = await import('../../src/lib/readings/rows');
    const { keyId, key } = await currentDataKey(20);
    const readings = sealReadings(
      rowKey(key, deviceId),
      deviceId,
      Array.from({ length: 20 }, (_, index) => ({
        id: `big-${index}`,
        relativeTime: index,
        interrogatorTime: index,
        freeform: 'x'.repeat(10_000),
      })),
    );
    const body = JSON.stringify(
      readingsMessageV2({ deviceId, batchId: 'big', arrivedAt: Date.now(), keyId }, readings),
    );
    expect(await app.store.storeMessages([{ messageId: randomUUID(), body }], Date.now() + 20_000)).toEqual(
      [],
    );
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await app.query.queryReadings({ deviceId, window: all, limit: 1_000, cursor });
      expect(Buffer.byteLength(JSON.stringify(page.data))).toBeLessThanOrEqual(65_536);
      seen.push(...page.data.map((row) => row.id));
      cursor = page.next;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(4);
    expect(seen).toEqual(Array.from({ length: 20 }, (_, index) => `big-${index}`));
  });
});
