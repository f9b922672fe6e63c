import { type ApiResponse, adminToken, api } from '../support/api';
import { registerTestDevice, type TestDevice } from '../support/devices';
import { expectSafeResponse } from '../support/responses';
import { eventually } from '../support/sqs';

// Issue 11 items 7 and 11 through the local stack: every kind of bad input is a 4xx in the standard
// error shape, and nothing is written.
type Rows = { data: Array<{ relative_timestamp: number; freeform: unknown }>; next?: string };
type ErrorShape = { error: { code: string; message: string } };

const cursorOf = (position: unknown) => Buffer.from(JSON.stringify(position)).toString('base64url');

function expectClientError(response: ApiResponse<unknown>, status = 400): void {
  expect({ status: response.status, text: response.text }).toEqual({ status, text: expect.any(String) });
  expectSafeResponse(response.status, response.headers, response.text);
  const body = response.body as ErrorShape;
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error).toMatchObject({ code: expect.any(String), message: expect.any(String) });
  expect(Object.keys(body.error).filter((key) => !['code', 'message', 'details'].includes(key))).toEqual([]);
}

const put = (device: TestDevice, body: unknown) =>
  api<ErrorShape>('PUT', '/api/iot', {
    token: device.token,
    rawBody: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });

/** Writes a sentinel after the rejected requests and waits for it: nothing else may be stored. */
async function expectOnlySentinelStored(device: TestDevice): Promise<void> {
  expect((await put(device, { data: { relative_time: 424242, freeform: 'sentinel' } })).status).toBe(202);
  const rows = await eventually(async () => {
    const response = await api<Rows>('POST', '/api/iot', { token: device.token });
    expect(response.status).toBe(200);
    expect(response.body.data.length).toBeGreaterThan(0);
    return response.body.data;
  });
  expect(rows).toEqual([expect.objectContaining({ relative_timestamp: 424242, freeform: 'sentinel' })]);
}

describe('bad input over HTTP: 4xx JSON, nothing changed', () => {
  let device: TestDevice;
  beforeAll(async () => {
    device = await registerTestDevice('bad input');
  });

  it('refuses a freeform of 100,000 nested arrays (and one just past the depth limit) with 400', async () => {
    const deep = `{"data":{"relative_time":1,"freeform":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`;
    const response = await put(device, deep);
    expectClientError(response);
    expect(response.body.error.message).toMatch(/nested deeper than 64 levels/);
    const justPast = `{"data":{"relative_time":2,"freeform":${'['.repeat(63)}${']'.repeat(63)}}}`;
    expectClientError(await put(device, justPast));
    // 62 levels inside the freeform (64 with the body and data objects) are accepted.
  });

  it('refuses numbers that would come back changed (beyond 2^53, too many digits, out of range)', async () => {
    for (const literal of [
      '9007199254740993',
      '-9223372036854775808',
      '3.14159265358979323846',
      '1e400',
      '1e-400',
    ]) {
      const response = await put(device, `{"data":{"relative_time":3,"freeform":{"n":${literal}}}}`);
      expectClientError(response);
      expect(response.body.error.message).toContain('data.freeform.n');
    }
  });

  it('refuses relative/interrogator times that are not exactly integers, and years the format cannot hold', async () => {
    for (const data of [
      { relative_time: 700.9 },
      { relative_time: '700.9' },
      { interrogator_time: 1.5 },
      { interrogator_time: '1/1/0099 10:00:00 AM' },
    ]) {
      expectClientError(await put(device, { data }));
    }
  });

  it('stored none of the refused readings', async () => {
    await expectOnlySentinelStored(device);
  });

  it('answers a forged or stale readings cursor with 400, on every readings route', async () => {
    const writer = await registerTestDevice('cursor');
    const readings = [1, 2, 3].map((relative_time) => ({ data: { relative_time } }));
    expect((await put(writer, readings)).status).toBe(202);
    const page = await eventually(async () => {
      const response = await api<Rows>('POST', '/api/iot/1/3?limit=1', { token: writer.token });
      expect(response.status).toBe(200);
      expect(response.body.next).toBeDefined();
      return response.body;
    });
    // A cursor of the window 1..3 resumed in another window: outside that query's key range.
    for (const path of ['/api/iot/100/200', '/api/iot/-50/0', '/api/rssi/500']) {
      expectClientError(await api('POST', `${path}?cursor=${page.next}`, { token: writer.token }));
    }
    // Still good in its own window.
    expect((await api('POST', `/api/iot/1/3?cursor=${page.next}`, { token: writer.token })).status).toBe(200);
    const forged = [
      cursorOf({ sk: '' }),
      cursorOf({ sk: 'x'.repeat(1500) }),
      cursorOf({ sk: '1' }),
      cursorOf({ a: '', o: 0 }),
      cursorOf({ a: 'zzz', o: -1 }),
      '!!!not-base64!!!',
      'A'.repeat(3000),
    ];
    for (const cursor of forged) {
      for (const path of ['/api/iot', '/api/iot/1', '/api/iot/1/3', '/api/iot/seconds/60']) {
        const response = await api('POST', `${path}?cursor=${encodeURIComponent(cursor)}`, {
          token: writer.token,
        });
        expectClientError(response);
      }
    }
  });

  it('answers a forged cursor on the admin lists (devices, audit) and images with 400', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const cases: Array<[string, string]> = [
      ['/api/devices', cursorOf({ kind: 'device', createdKey: '', deviceId: '' })],
      ['/api/devices', cursorOf({ kind: 'device', createdKey: 'x'.repeat(1200), deviceId: 'abc' })],
      ['/api/devices', 'A'.repeat(5000)],
      ['/api/audit', cursorOf({ day: today, entryKey: '' })],
      ['/api/audit', cursorOf({ day: today, entryKey: `1999-01-01T00:00:00.000Z#${'r'.repeat(1100)}` })],
      ['/api/audit', cursorOf({ day: '2026-02-30' })],
      ['/api/audit', cursorOf({ day: '9999-12-31' })],
      ['/api/images', cursorOf({ after: '' })],
      ['/api/images', cursorOf({ after: 'a#b' })],
    ];
    for (const [path, cursor] of cases) {
      const response = await api('GET', `${path}?cursor=${encodeURIComponent(cursor)}`, {
        token: path === '/api/images' ? device.token : adminToken(),
      });
      expect({ path, cursor, status: response.status }).toEqual({ path, cursor, status: 400 });
      expectClientError(response);
    }
  });

  it('refuses an admin path deviceId that is not a device id (internal partitions such as <id>#arrivals)', async () => {
    const writer = await registerTestDevice('partition');
    expect((await put(writer, { data: { relative_time: 1 } })).status).toBe(202);
    await eventually(async () => {
      const response = await api<Rows>('POST', '/api/iot', { token: writer.token });
      expect(response.body.data).toHaveLength(1);
    });
    const internal = encodeURIComponent(`${writer.deviceId}#arrivals`);
    for (const [method, path] of [
      ['POST', `/api/devices/${internal}/iot`],
      ['POST', `/api/devices/${internal}/iot/0`],
      ['POST', `/api/devices/${internal}/iot/0/10`],
      ['POST', `/api/devices/${internal}/iot/seconds/60`],
      ['GET', `/api/devices/${internal}/iot/maxtime`],
      ['POST', `/api/devices/${internal}/rssi`],
      ['GET', `/api/devices/${internal}/stats`],
      ['GET', `/api/devices/${internal}`],
      ['POST', `/api/devices/${encodeURIComponent('a b')}/iot`],
    ] as const) {
      const response = await api(method, path, { token: adminToken() });
      expect({ path, status: response.status }).toEqual({ path, status: 400 });
      expectClientError(response);
    }
  });
});
