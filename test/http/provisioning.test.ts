import { randomInt, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, paginateScan, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { adminToken, api } from '../support/api';
import { registerTestDevice } from '../support/devices';
import { testLogFile } from '../support/paths';
import { expectSafeResponse } from '../support/responses';
import { eventually } from '../support/sqs';

// Self-registration through the local stack: an admin's provisioning key exchanged at
// POST /api/provision for a device id and token, with its limits, refusals, rate limits and audit.
const MAX_FAILURES = 10; // config.MAX_PROVISION_FAILURES (default), as the local stack runs it

interface Key {
  keyId: string;
  key: string;
  name: string;
  maxDevices: number;
  used: number;
  expiresAt: string;
  revoked: boolean;
  status: string;
}
interface Provisioned {
  deviceId: string;
  token: string;
  status: string;
  provisionedBy: string;
  name?: string;
}
type ErrorBody = { error: { code: string; message: string } };

const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const provisioningTable = () => process.env.PROVISIONING_TABLE as string;

/** A loopback address of its own per test: failures counted per source IP never cross tests. */
const freshSource = () => `127.${randomInt(1, 255)}.${randomInt(1, 255)}.${randomInt(1, 255)}`;

async function createKey(maxDevices: number, name = `batch ${randomUUID()}`): Promise<Key> {
  const response = await api<Key>('POST', '/api/provisioning-keys', {
    token: adminToken(),
    body: { name, maxDevices, expiresInSeconds: 3600 },
  });
  expect(response.status).toBe(201);
  return response.body;
}

const provision = <T = Provisioned>(
  key: string | undefined,
  sourceIp: string,
  options: { body?: unknown; idempotencyKey?: string } = {},
) =>
  api<T>('POST', '/api/provision', {
    token: key,
    body: options.body,
    sourceIp,
    headers: options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {},
  });

/**
 * Offline, each concurrent invocation beyond the idle ones starts a worker that first loads the
 * handler (seconds of CPU): 20 cold at once on two cores outlast the function's timeout (504, and the
 * worker is dropped). Bursts of exchanges with an unknown key (each from its own address, so each is
 * a plain 401 that takes a few DynamoDB calls and overlaps the others), a few more at a time, leave
 * `count` warm workers, as a steady fleet would find in AWS.
 */
async function warmConcurrent(count: number): Promise<void> {
  for (let concurrent = 4; concurrent <= count; concurrent += 4)
    await eventually(
      async () => {
        const responses = await Promise.all(
          Array.from({ length: concurrent }, () => provision(`pk_${'W'.repeat(16)}.warm`, freshSource())),
        );
        expect(responses.map((response) => response.status)).toEqual(Array(concurrent).fill(401));
      },
      { timeoutMs: 60_000 },
    );
}

async function listedKey(keyId: string): Promise<Key | undefined> {
  const response = await api<{ data: Key[] }>('GET', '/api/provisioning-keys?limit=1000', {
    token: adminToken(),
  });
  expect(response.status).toBe(200);
  return response.body.data.find((key) => key.keyId === keyId);
}

async function scan(tableName: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  for await (const page of paginateScan({ client: dynamo }, { TableName: tableName, ConsistentRead: true }))
    items.push(...(page.Items ?? []));
  return items;
}

function expectRefusal(
  response: { status: number; headers: Headers; text: string; body: unknown },
  status: number,
  message: string | RegExp,
) {
  expect(response.status).toBe(status);
  expectSafeResponse(response.status, response.headers, response.text);
  const { error } = response.body as ErrorBody;
  expect(error.code).toBe(status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : 'TooManyRequests');
  expect(error.message).toMatch(message);
}

describe('provisioning keys and POST /api/provision', () => {
  it('creates a key shown once, provisions a device that can ingest and query, and lists the key without secrets', async () => {
    const created = await createKey(3, 'line 3');
    expect(created).toEqual({
      keyId: expect.stringMatching(/^pk_[A-Za-z0-9_-]{16}$/),
      key: expect.stringMatching(/^pk_[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{43}$/),
      name: 'line 3',
      maxDevices: 3,
      used: 0,
      createdAt: expect.any(String),
      expiresAt: expect.any(String),
      revoked: false,
      status: 'active',
    });
    expect(created.key.startsWith(`${created.keyId}.`)).toBe(true);

    const response = await provision(created.key, freshSource(), {
      body: { name: 'sensor 7', expectedIntervalSeconds: 60 },
    });
    expect(response.status).toBe(201);
    expectSafeResponse(response.status, response.headers, response.text);
    const device = response.body;
    expect(device).toEqual({
      deviceId: expect.stringMatching(/^dev_[A-Za-z0-9_-]{16}$/),
      token: expect.stringMatching(/^dev_[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{43}$/),
      name: 'sensor 7',
      status: 'active',
      createdAt: expect.any(String),
      expectedIntervalSeconds: 60,
      provisionedBy: created.keyId,
    });

    // The device works like an admin-registered one: it ingests and reads its own readings.
    const ingest = await api('PUT', '/api/iot', {
      token: device.token,
      body: { data: { relative_time: 5, freeform: { rssi: -42 } } },
    });
    expect(ingest.status).toBe(202);
    await eventually(async () => {
      const rows = await api<{ data: Array<{ freeform: unknown }> }>('POST', '/api/iot', {
        token: device.token,
      });
      expect(rows.status).toBe(200);
      expect(rows.body.data.map((row) => row.freeform)).toEqual([{ rssi: -42 }]);
    });
    // The admin sees it, with the key that created it.
    const shown = await api<Provisioned>('GET', `/api/devices/${device.deviceId}`, { token: adminToken() });
    expect(shown.body).toMatchObject({ deviceId: device.deviceId, provisionedBy: created.keyId });

    const listed = await listedKey(created.keyId);
    expect(listed).toEqual({ ...created, key: undefined, used: 1 });
    expect(JSON.stringify(listed)).not.toContain(created.key.split('.')[1]);
  });

  it('refuses a revoked key (403) and lists it as revoked; revoking twice keeps the first time', async () => {
    const created = await createKey(5);
    const revoked = await api<Key & { revokedAt: string }>(
      'DELETE',
      `/api/provisioning-keys/${created.keyId}`,
      {
        token: adminToken(),
      },
    );
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ keyId: created.keyId, revoked: true, status: 'revoked' });
    const again = await api<Key & { revokedAt: string }>(
      'DELETE',
      `/api/provisioning-keys/${created.keyId}`,
      {
        token: adminToken(),
      },
    );
    expect(again.body.revokedAt).toBe(revoked.body.revokedAt);
    expectRefusal(await provision(created.key, freshSource()), 403, /revoked/);
    expect(await listedKey(created.keyId)).toMatchObject({ revoked: true, used: 0, status: 'revoked' });
  });

  it('refuses an expired key (403)', async () => {
    const created = await createKey(5);
    // Keys live at least a minute: move this one's expiry into the past in the table itself.
    await dynamo.send(
      new UpdateCommand({
        TableName: provisioningTable(),
        Key: { id: created.keyId },
        UpdateExpression: 'SET expiresAt = :past',
        ExpressionAttributeValues: { ':past': new Date(Date.now() - 1000).toISOString() },
      }),
    );
    expectRefusal(await provision(created.key, freshSource()), 403, /expired/);
    expect(await listedKey(created.keyId)).toMatchObject({ status: 'expired', used: 0 });
  });

  it('refuses an exhausted key (403) once it has created its devices', async () => {
    const created = await createKey(1);
    const source = freshSource();
    expect((await provision(created.key, source)).status).toBe(201);
    expectRefusal(await provision(created.key, source), 403, /all the devices/);
    expect(await listedKey(created.keyId)).toMatchObject({ status: 'exhausted', used: 1 });
  });

  it('answers a missing, malformed, unknown or wrong key, and device and admin tokens, with the same 401', async () => {
    const created = await createKey(2);
    const device = await registerTestDevice('not a key');
    const [keyId, secret = ''] = created.key.split('.');
    const wrongSecret = `${keyId}.${secret.slice(0, -2)}${secret.endsWith('AA') ? 'BB' : 'AA'}`;
    const bodies = new Set<string>();
    for (const key of [
      undefined,
      'not-a-key',
      `pk_${'A'.repeat(16)}.${secret}`,
      wrongSecret,
      device.token,
      adminToken(),
    ]) {
      const response = await provision(key, freshSource());
      expectRefusal(response, 401, 'Missing or invalid provisioning key');
      bodies.add(response.text);
    }
    expect(bodies.size).toBe(1);
    expect(await listedKey(created.keyId)).toMatchObject({ used: 0 });
  });

  it('creates exactly 5 devices from 20 concurrent exchanges of a key limited to 5', async () => {
    await warmConcurrent(20);
    const created = await createKey(5);
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        provision<Provisioned | ErrorBody>(created.key, freshSource(), { body: { name: `unit ${index}` } }),
      ),
    );
    const statuses = responses.map((response) => response.status).sort();
    expect(statuses).toEqual([...Array(5).fill(201), ...Array(15).fill(403)]);
    for (const response of responses.filter((r) => r.status === 403))
      expect((response.body as ErrorBody).error.message).toMatch(/all the devices/);
    const ids = responses.filter((r) => r.status === 201).map((r) => (r.body as Provisioned).deviceId);
    expect(new Set(ids).size).toBe(5);
    // Exactly those five exist, and the count says five.
    const devices = (await scan(process.env.DEVICES_TABLE as string)).filter(
      (item) => item.provisionedBy === created.keyId,
    );
    expect(devices.map((item) => item.deviceId).sort()).toEqual([...ids].sort());
    expect(await listedKey(created.keyId)).toMatchObject({ used: 5, status: 'exhausted' });
  }, 240_000);

  it('answers a retry with the same Idempotency-Key with the same device and token, even once the key is used up', async () => {
    const created = await createKey(1);
    const source = freshSource();
    const idempotencyKey = randomUUID();
    const first = await provision(created.key, source, { idempotencyKey, body: { name: 'retry me' } });
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const retry = await provision(created.key, source, { idempotencyKey, body: { name: 'retry me' } });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body).toEqual(first.body);
    expect(await listedKey(created.keyId)).toMatchObject({ used: 1 });
    // The same Idempotency-Key with another body is a 422; a new one finds the key used up.
    const changed = await provision<ErrorBody>(created.key, source, {
      idempotencyKey,
      body: { name: 'other' },
    });
    expect(changed.status).toBe(422);
    expectRefusal(
      await provision(created.key, source, { idempotencyKey: randomUUID() }),
      403,
      /all the devices/,
    );
    // The token the retry returned works.
    expect((await api('GET', '/api/iot/maxtime', { token: retry.body.token })).status).toBe(200);
  });

  it('answers concurrent retries of one Idempotency-Key with one device', async () => {
    await warmConcurrent(6);
    const created = await createKey(5);
    const idempotencyKey = randomUUID();
    const responses = await Promise.all(
      Array.from({ length: 6 }, () => provision(created.key, freshSource(), { idempotencyKey })),
    );
    expect(responses.map((response) => response.status)).toEqual(Array(6).fill(201));
    expect(new Set(responses.map((response) => response.body.deviceId)).size).toBe(1);
    expect(new Set(responses.map((response) => response.body.token)).size).toBe(1);
    expect(await listedKey(created.keyId)).toMatchObject({ used: 1 });
  });

  it(`rate-limits guessing per source address: ${MAX_FAILURES} failures, then 429 with Retry-After even for a right key`, async () => {
    const created = await createKey(5);
    const guesser = freshSource();
    for (let guess = 0; guess < MAX_FAILURES; guess += 1) {
      const response = await provision(`pk_${'B'.repeat(15)}${guess % 10}.${'x'.repeat(43)}`, guesser);
      expect(response.status).toBe(401);
    }
    for (const key of ['pk_CCCCCCCCCCCCCCCC.guess', created.key]) {
      const response = await provision(key, guesser);
      expectRefusal(response, 429, /Too many failed provisioning attempts/);
      const retryAfter = Number(response.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(900);
    }
    // Another address is not affected, and successes do not count.
    const other = freshSource();
    for (let index = 0; index < 3; index += 1) expect((await provision(created.key, other)).status).toBe(201);
  });

  it(`rate-limits guessing one key's secret from many addresses: ${MAX_FAILURES} wrong secrets, then 429`, async () => {
    const created = await createKey(5);
    for (let guess = 0; guess < MAX_FAILURES; guess += 1) {
      const response = await provision(`${created.keyId}.${'y'.repeat(42)}${guess}`, freshSource());
      expect(response.status).toBe(401);
    }
    const response = await provision(created.key, freshSource());
    expectRefusal(response, 429, /Too many failed provisioning attempts/);
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await listedKey(created.keyId)).toMatchObject({ used: 0 });
  });

  it('audits every exchange, refusals included, with the key, outcome and source address', async () => {
    const created = await createKey(1);
    const source = freshSource();
    const ok = await provision(created.key, source);
    await provision(created.key, source);
    await provision(`${created.keyId}.wrong`, source);
    await api('DELETE', `/api/provisioning-keys/${created.keyId}`, { token: adminToken() });
    const audit = await api<{ data: Array<Record<string, unknown>> }>('GET', '/api/audit?limit=1000', {
      token: adminToken(),
    });
    const entries = audit.body.data.filter((entry) => entry.keyId === created.keyId);
    expect(entries.map((entry) => [entry.action, entry.outcome]).reverse()).toEqual([
      ['provisioning-key', 'created'],
      ['provision', 'created'],
      ['provision', 'refused: exhausted'],
      ['provisioning-key', 'revoked'],
    ]);
    expect(
      entries.find((entry) => entry.outcome === 'created' && entry.action === 'provision'),
    ).toMatchObject({
      route: 'POST /api/provision',
      actor: created.keyId,
      deviceId: ok.body.deviceId,
      rows: 1,
      sourceIp: source,
    });
    // A wrong secret names no key (anyone can claim one): it is recorded against its address.
    expect(
      audit.body.data.some(
        (entry) =>
          entry.sourceIp === source &&
          entry.outcome === 'refused: invalid key' &&
          entry.actor === 'anonymous',
      ),
    ).toBe(true);
  });

  it('rejects bad key definitions and parameters with 400 JSON, changing nothing', async () => {
    // Other test files create keys meanwhile: the bad ones carry a name of their own to look for.
    const marker = `bad ${randomUUID()}`;
    const bad: unknown[] = [
      {},
      { name: marker, maxDevices: 0, expiresInSeconds: 3600 },
      { name: marker, maxDevices: 1.5, expiresInSeconds: 3600 },
      { name: marker, maxDevices: 100_001, expiresInSeconds: 3600 },
      { name: '', maxDevices: 1, expiresInSeconds: 3600 },
      { name: marker, maxDevices: 1 },
      {
        name: marker,
        maxDevices: 1,
        expiresInSeconds: 3600,
        expiresAt: new Date(Date.now() + 7_200_000).toISOString(),
      },
      { name: marker, maxDevices: 1, expiresAt: new Date(Date.now() - 1000).toISOString() },
      { name: marker, maxDevices: 1, expiresAt: new Date(Date.now() + 400 * 86_400_000).toISOString() },
      { name: marker, maxDevices: 1, expiresAt: 'tomorrow' },
      { name: marker, maxDevices: 1, expiresInSeconds: 3600, used: 0 },
      { name: '\ud800', maxDevices: 1, expiresInSeconds: 3600 },
      [],
    ];
    for (const body of bad) {
      const response = await api<ErrorBody>('POST', '/api/provisioning-keys', { token: adminToken(), body });
      expect([response.status, response.body.error.code]).toEqual([400, 'ValidationError']);
    }
    for (const keyId of ['source#127.0.0.1', 'pk_short', 'dev_AAAAAAAAAAAAAAAA']) {
      const response = await api('DELETE', `/api/provisioning-keys/${encodeURIComponent(keyId)}`, {
        token: adminToken(),
      });
      expect(response.status).toBe(400);
    }
    const unknown = await api('DELETE', `/api/provisioning-keys/pk_${'Z'.repeat(16)}`, {
      token: adminToken(),
    });
    expect(unknown.status).toBe(404);
    expect((await api('GET', '/api/provisioning-keys?limit=0', { token: adminToken() })).status).toBe(400);
    expect((await api('GET', '/api/provisioning-keys?cursor=abc', { token: adminToken() })).status).toBe(400);
    // Bad provision bodies and Idempotency-Keys are 400s that spend nothing.
    const created = await createKey(1);
    for (const options of [
      { body: { deviceId: 'chosen_by_device' } },
      { body: { name: marker.repeat(201) } },
      { body: { expectedIntervalSeconds: 0 } },
      { idempotencyKey: 'short' },
    ]) {
      const response = await provision<ErrorBody>(created.key, freshSource(), options);
      expect([response.status, response.body.error.code]).toEqual([400, 'ValidationError']);
    }
    expect(await listedKey(created.keyId)).toMatchObject({ used: 0 });
    expect((await scan(provisioningTable())).filter((item) => item.name === marker)).toEqual([]);
  });

  it('pages the key list newest first', async () => {
    const older = await createKey(1);
    const newer = await createKey(1);
    // Other test files may create keys meanwhile: walk one-key pages until the older one shows up.
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await api<{ data: Key[]; next?: string }>(
        'GET',
        `/api/provisioning-keys?limit=1${cursor ? `&cursor=${cursor}` : ''}`,
        { token: adminToken() },
      );
      expect(page.status).toBe(200);
      expect(page.body.data).toHaveLength(1);
      seen.push(...page.body.data.map((key) => key.keyId));
      cursor = page.body.next;
    } while (cursor && !seen.includes(older.keyId) && seen.length < 100);
    expect(seen.indexOf(newer.keyId)).toBeGreaterThanOrEqual(0);
    expect(seen.indexOf(newer.keyId)).toBeLessThan(seen.indexOf(older.keyId));
  });

  it('keeps key secrets and device tokens out of every table and the functions log', async () => {
    const created = await createKey(1);
    const device = (await provision(created.key, freshSource(), { idempotencyKey: randomUUID() })).body;
    const secrets = [created.key.split('.')[1] as string, device.token.split('.')[1] as string];
    const tables = [
      provisioningTable(),
      process.env.DEVICES_TABLE as string,
      process.env.AUDIT_TABLE as string,
    ];
    for (const table of tables) {
      const dump = JSON.stringify(await scan(table));
      for (const secret of secrets) expect(dump).not.toContain(secret);
    }
    const log = readFileSync(testLogFile, 'utf8');
    for (const secret of secrets) expect(log).not.toContain(secret);
  });
});
