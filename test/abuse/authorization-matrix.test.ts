import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { printServiceConfig } from '../../scripts/local/service-config';
import { adminToken, api } from '../support/api';
import { registerTestDevice, type TestDevice } from '../support/devices';
import { requestExport } from '../support/exports';
import { testLogFile } from '../support/paths';
import { expectSafeResponse } from '../support/responses';
import { eventually } from '../support/sqs';

// Every route of serverless.yml × every kind of caller, through the local stack over HTTP, with the
// exact status each must get. Routes come from the resolved serverless.yml: a new route without a row
// here fails the test.
type Caller = 'none' | 'badToken' | 'deviceA' | 'deviceB' | 'admin';
const callers: Caller[] = ['none', 'badToken', 'deviceA', 'deviceB', 'admin'];

interface Row {
  /** Status per caller. */
  expect: Record<Caller, number>;
  /** The `{deviceId}` in the path: device A's own (default), or a fresh device per request (destructive routes). */
  deviceId?: 'deviceA' | 'fresh';
  /** The `{key}` in the path: an image device A uploaded (default), or a fresh one of A's per request. */
  imageKey?: 'ofDeviceA' | 'fresh';
  /** The `{id}` in the path: an export device A requested. */
  exportId?: 'ofDeviceA';
  /** The `{ruleId}` in the path: one alert rule (default), or a fresh one per request (destructive routes). */
  ruleId?: 'shared' | 'fresh';
  body?: unknown;
  raw?: { bytes: Buffer; contentType: string };
  /** A query string (without `?`). */
  query?: string;
}

const PUBLIC = (status: number): Record<Caller, number> => ({
  none: status,
  badToken: status,
  deviceA: status,
  deviceB: status,
  admin: status,
});
// Behind the authorizer: no or bad credentials are 401 before any function runs.
const GUARDED = (device: number, admin: number, deviceB = device): Record<Caller, number> => ({
  none: 401,
  badToken: 401,
  deviceA: device,
  deviceB,
  admin,
});
const ADMIN_ONLY = (admin: number) => GUARDED(403, admin);
// A device's own readings routes (A and B each address their own data; admins must name a device).
const OWN_DATA = GUARDED(200, 403);
// /api/devices/{deviceId}/…: {deviceId} is device A, so A may, B may not, admins may.
const NAMED_DEVICE = GUARDED(200, 200, 403);

// A 1×1 PNG.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

const reading = { data: { relative_time: 1, interrogator_time: 2, freeform: { rssi: -50 } } };
const ingest: Row = { expect: GUARDED(202, 403), body: reading };
const aggregatesQuery = 'field=rssi&from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&step=1h';
// Disabled, on a field no reading has: it never fires for other tests' devices.
const disabledRule = { devices: 'all', field: 'matrix.never', comparison: '>', threshold: 1, enabled: false };

const matrix: Record<string, Row> = {
  'GET /health': { expect: PUBLIC(200) },
  // The 404 fallback (ANY / and ANY /{proxy+}) is exercised with a few methods below.
  'ANY /': { expect: PUBLIC(404) },
  'ANY /{proxy+}': { expect: PUBLIC(404) },

  'POST /api/devices': { expect: ADMIN_ONLY(201) },
  'GET /api/devices': { expect: ADMIN_ONLY(200) },
  // A device reads its own record (status, measured clock), not another's.
  'GET /api/devices/{deviceId}': { expect: NAMED_DEVICE },
  'PATCH /api/devices/{deviceId}': { expect: ADMIN_ONLY(200), body: { clockSkewWindowSeconds: 600 } },
  'DELETE /api/devices/{deviceId}': { expect: ADMIN_ONLY(200), deviceId: 'fresh' },
  'POST /api/devices/{deviceId}/token': { expect: ADMIN_ONLY(200), deviceId: 'fresh' },

  'PUT /api/iot': ingest,
  'PUT /api/rssi': ingest,
  'POST /api/iot/readings': ingest,
  'POST /api/rssi/readings': ingest,

  'POST /api/iot': { expect: OWN_DATA },
  'POST /api/iot/{start}': { expect: OWN_DATA },
  'POST /api/iot/{start}/{end}': { expect: OWN_DATA },
  'POST /api/iot/seconds/{seconds}': { expect: OWN_DATA },
  'GET /api/iot/maxtime': { expect: OWN_DATA },
  'POST /api/rssi': { expect: OWN_DATA },
  'POST /api/rssi/{start}': { expect: OWN_DATA },
  'POST /api/rssi/{start}/{end}': { expect: OWN_DATA },
  'POST /api/rssi/seconds/{seconds}': { expect: OWN_DATA },
  'GET /api/rssi/maxtime': { expect: OWN_DATA },
  'POST /api/devices/{deviceId}/iot': { expect: NAMED_DEVICE },
  'POST /api/devices/{deviceId}/iot/{start}': { expect: NAMED_DEVICE },
  'POST /api/devices/{deviceId}/iot/{start}/{end}': { expect: NAMED_DEVICE },
  'POST /api/devices/{deviceId}/iot/seconds/{seconds}': { expect: NAMED_DEVICE },
  'GET /api/devices/{deviceId}/iot/maxtime': { expect: NAMED_DEVICE },
  'POST /api/devices/{deviceId}/rssi': { expect: NAMED_DEVICE },
  'POST /api/devices/{deviceId}/rssi/{start}': { expect: NAMED_DEVICE },
  'POST /api/devices/{deviceId}/rssi/{start}/{end}': { expect: NAMED_DEVICE },
  'POST /api/devices/{deviceId}/rssi/seconds/{seconds}': { expect: NAMED_DEVICE },
  'GET /api/devices/{deviceId}/rssi/maxtime': { expect: NAMED_DEVICE },

  'GET /api/iot/aggregates': { expect: OWN_DATA, query: aggregatesQuery },
  'GET /api/rssi/aggregates': { expect: OWN_DATA, query: aggregatesQuery },
  'GET /api/devices/{deviceId}/iot/aggregates': { expect: NAMED_DEVICE, query: aggregatesQuery },
  'GET /api/devices/{deviceId}/rssi/aggregates': { expect: NAMED_DEVICE, query: aggregatesQuery },
  'GET /api/iot/fields': { expect: OWN_DATA },
  'GET /api/rssi/fields': { expect: OWN_DATA },
  'GET /api/devices/{deviceId}/iot/fields': { expect: NAMED_DEVICE },
  'GET /api/devices/{deviceId}/rssi/fields': { expect: NAMED_DEVICE },

  'GET /api/audit': { expect: ADMIN_ONLY(200) },

  // Alert rules are the admin's; alert states are the admin's, and each device's own.
  'POST /api/alert-rules': { expect: ADMIN_ONLY(201), body: disabledRule },
  'GET /api/alert-rules': { expect: ADMIN_ONLY(200) },
  'GET /api/alert-rules/{ruleId}': { expect: ADMIN_ONLY(200) },
  'PATCH /api/alert-rules/{ruleId}': { expect: ADMIN_ONLY(200), body: { threshold: 2 } },
  'DELETE /api/alert-rules/{ruleId}': { expect: ADMIN_ONLY(200), ruleId: 'fresh' },
  'GET /api/alerts': { expect: GUARDED(200, 200) },
  // Provisioning keys are the admin's; the exchange is public, authenticated by the key it carries:
  // none of these credentials is a provisioning key, so every caller gets the same 401.
  'POST /api/provisioning-keys': {
    expect: ADMIN_ONLY(201),
    body: { name: 'matrix', maxDevices: 1, expiresInSeconds: 3600 },
  },
  'GET /api/provisioning-keys': { expect: ADMIN_ONLY(200) },
  'DELETE /api/provisioning-keys/{keyId}': { expect: ADMIN_ONLY(200) },
  'POST /api/provision': { expect: PUBLIC(401) },
  // One dead letter at most: the shared dead-letter queue is also watched by other tests.
  'POST /api/dead-letters/redrive': { expect: ADMIN_ONLY(200), body: { maxMessages: 1 } },

  'GET /api/stats': { expect: GUARDED(200, 200) },
  'GET /api/devices/{deviceId}/stats': { expect: NAMED_DEVICE },

  // Images belong to the device that uploaded them: another device gets 404 (reads, deletes) or 409
  // (overwrites); the admin reads and deletes any of them but overwrites none (409).
  'POST /api/images': { expect: GUARDED(201, 201), body: { contentType: 'image/png', contentLength: 100 } },
  'PUT /api/images/{key}': {
    expect: GUARDED(202, 409, 409),
    raw: { bytes: PNG, contentType: 'application/octet-stream' },
  },
  'GET /api/images': { expect: GUARDED(200, 200) },
  'GET /api/images/{key}': { expect: GUARDED(200, 200, 404) },
  'DELETE /api/images/{key}': { expect: GUARDED(200, 200, 404), imageKey: 'fresh' },
  // Image bytes (200: image/webp, the one answer that is not JSON).
  'GET /api/images/{key}/content': { expect: GUARDED(200, 200, 404) },

  // The image cache's settings are the admin's.
  'GET /api/image-cache': { expect: ADMIN_ONLY(200) },
  'PUT /api/image-cache': { expect: ADMIN_ONLY(200), body: { capacityMb: 64, policy: 'lru' } },
  'POST /api/image-cache/clear': { expect: ADMIN_ONLY(200) },

  // A device exports its own readings (admins must name a device or ask for all); an export is seen by
  // whoever requested it and by the admins, another device gets 404.
  'POST /api/exports': { expect: GUARDED(202, 403), body: { format: 'csv' } },
  'GET /api/exports/{id}': { expect: GUARDED(200, 200, 404), exportId: 'ofDeviceA' },
};

const pathValues: Record<string, string> = { start: '0', end: '100', seconds: '60', proxy: 'no/such/route' };

interface HttpEvent {
  path: string;
  method: string;
}

/** `METHOD /path` of every http event in the resolved serverless.yml. */
async function declaredRoutes(): Promise<string[]> {
  const config = await printServiceConfig('local', process.env);
  return Object.values(config.functions).flatMap((fn) =>
    fn.events.flatMap((event) => {
      const http = event.http as HttpEvent | undefined;
      if (!http) return [];
      const path = `/${http.path.replace(/^\//, '')}`;
      return [`${http.method.toUpperCase()} ${path}`];
    }),
  );
}

describe('authorization matrix: every route × {no credentials, bad token, device A, device B, admin}', () => {
  let routes: string[];
  let deviceA: TestDevice;
  let deviceB: TestDevice;
  let imageOfA: string;
  let exportOfA: string;
  let ruleId: string;

  async function newRule(): Promise<string> {
    const response = await api<{ ruleId: string }>('POST', '/api/alert-rules', {
      token: adminToken(),
      body: disabledRule,
    });
    if (response.status !== 201) throw new Error(`rule creation failed: ${response.status} ${response.text}`);
    return response.body.ruleId;
  }
  let provisioningKeyId: string;

  /** An image uploaded by device A, under a new key. */
  async function uploadAsA(): Promise<string> {
    const key = `matrix-${randomUUID()}`;
    const response = await api('PUT', `/api/images/${key}`, {
      token: deviceA.token,
      rawBody: PNG,
      headers: { 'content-type': 'application/octet-stream' },
    });
    if (response.status !== 202) throw new Error(`image upload failed: ${response.status} ${response.text}`);
    return key;
  }

  beforeAll(async () => {
    routes = await declaredRoutes();
    [deviceA, deviceB] = await Promise.all([registerTestDevice('matrix A'), registerTestDevice('matrix B')]);
    imageOfA = await uploadAsA();
    exportOfA = await requestExport(deviceA.token, { format: 'parquet' });
    ruleId = await newRule();
    const key = await api<{ keyId: string }>('POST', '/api/provisioning-keys', {
      token: adminToken(),
      body: { name: 'matrix', maxDevices: 1, expiresInSeconds: 3600 },
    });
    provisioningKeyId = key.body.keyId;
    // Its content is served once it is processed.
    await eventually(
      async () => {
        const response = await api<{ status: string }>('GET', `/api/images/${imageOfA}`, {
          token: deviceA.token,
        });
        if (response.body.status !== 'ready') throw new Error(`image of A: ${response.text}`);
      },
      { timeoutMs: 30_000 },
    );
    // Warm the content function (as global-setup warms the authorizer): its first invocation compiles
    // its TypeScript in a fresh worker, which on a busy machine can outlast the 10 s timeout (a 504).
    await api('GET', `/api/images/${imageOfA}/content?size=128`, { token: deviceA.token });
  }, 90_000);

  it('has exactly one row per declared route', () => {
    expect(routes.length).toBeGreaterThan(0);
    expect([...new Set(routes)].sort()).toEqual(Object.keys(matrix).sort());
  });

  it('answers each (route, caller) with exactly the specified status, as safe JSON', async () => {
    const authorization: Record<Caller, string | undefined> = {
      none: undefined,
      // Well-formed, for a device that does not exist, and a made-up admin-looking token.
      badToken: `Bearer ${deviceA.deviceId}.${'A'.repeat(43)}`,
      deviceA: `Bearer ${deviceA.token}`,
      deviceB: `Bearer ${deviceB.token}`,
      admin: `Bearer ${adminToken()}`,
    };
    const cells: Array<{ route: string; caller: Caller; method: string; path: string; row: Row }> = [];
    for (const route of Object.keys(matrix)) {
      const row = matrix[route] as Row;
      const [method = '', template = ''] = route.split(' ');
      for (const caller of callers) {
        const methods = method === 'ANY' ? ['GET', 'POST', 'DELETE'] : [method];
        for (const m of methods) cells.push({ route, caller, method: m, path: template, row });
      }
    }

    const outcomes: string[] = [];
    const expected: string[] = [];
    // One request at a time: serverless offline starts a new worker (a cold start) for each concurrent
    // request of a function, and a pile of cold starts on a small machine times out.
    // One request at a time: serverless offline starts a new worker (a cold start) for each concurrent
    // request of a function, and a pile of cold starts on a small machine times out.
    for (const cell of cells) {
      const deviceId =
        cell.row.deviceId === 'fresh'
          ? (await registerTestDevice('matrix victim')).deviceId
          : deviceA.deviceId;
      const imageKey = cell.row.imageKey === 'fresh' ? await uploadAsA() : imageOfA;
      const rule = cell.row.ruleId === 'fresh' ? await newRule() : ruleId;
      const values: Record<string, string> = {
        ...pathValues,
        deviceId,
        key: imageKey,
        ruleId: rule,
        keyId: provisioningKeyId,
        id: exportOfA,
      };
      const path =
        cell.path.replace(/\{(\w+)\+?\}/g, (_, name: string) => values[name] ?? name) +
        (cell.row.query ? `?${cell.row.query}` : '');
      const header = authorization[cell.caller];
      const response = await api(cell.method, path, {
        headers: {
          ...(header ? { authorization: header } : {}),
          ...(cell.row.raw ? { 'content-type': cell.row.raw.contentType } : {}),
        },
        body: cell.row.body,
        rawBody: cell.row.raw?.bytes,
        // Failed exchanges count per source address: from an address of their own, not the one the
        // README's examples provision from.
        ...(cell.route === 'POST /api/provision' ? { sourceIp: '127.0.2.1' } : {}),
      });
      expectSafeResponse(response.status, response.headers, response.text, {
        presigned: cell.route.includes('/api/images') || cell.route.includes('/api/exports'),
        binary: cell.route.endsWith('/content') && response.status === 200,
      });
      const label = `${cell.method} ${cell.route.split(' ')[1]} as ${cell.caller}`;
      outcomes.push(`${label} → ${response.status}`);
      expected.push(`${label} → ${cell.row.expect[cell.caller]}`);
    }
    expect(outcomes.sort()).toEqual(expected.sort());
  }, 180_000);

  it('never writes a credential to the functions’ logs', () => {
    const log = readFileSync(testLogFile, 'utf8');
    for (const secret of [adminToken(), deviceA.token, deviceB.token]) expect(log).not.toContain(secret);
    // Nor the secret half of any device token.
    for (const token of [deviceA.token, deviceB.token]) expect(log).not.toContain(token.split('.')[1]);
  });
});
