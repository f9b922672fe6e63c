import { adminToken, api } from '../support/api';
import { registerTestDevice, type TestDevice } from '../support/devices';
import { eventually } from '../support/sqs';

type Row = { id: string; relative_timestamp: number; interrogator_timestamp: number; freeform: unknown };
type Page = { data: Row[]; next?: string };

const put = (device: TestDevice, body: unknown, headers: Record<string, string> = {}) =>
  api<{ success: string; ids: string[]; error?: { code: string; message: string } }>('PUT', '/api/iot', {
    token: device.token,
    body,
    headers,
  });

const queryAll = (device: TestDevice, password?: string, path = '/api/iot') =>
  api<Page & { error?: { code: string } }>('POST', path, {
    token: device.token,
    body: password === undefined ? undefined : { data: { db_password: password } },
  });

async function waitForRows(device: TestDevice, count: number, password?: string): Promise<Row[]> {
  return eventually(async () => {
    const response = await queryAll(device, password);
    expect(response.status).toBe(200);
    expect(response.body.data).toHaveLength(count);
    return response.body.data;
  });
}

describe('readings API over HTTP', () => {
  it('accepts the original value forms: numeric strings, integral floats, date-times, defaults', async () => {
    const device = await registerTestDevice();
    const response = await put(device, [
      { data: { relative_time: '10', interrogator_time: ' 1395139159123456 ', freeform: 'text' } },
      {
        data: {
          relative_time: 20.0,
          interrogator_time: '3/18/2014 10:59:19.123456 AM',
          freeform: [1, { a: null }],
        },
      },
      { data: { relative_time: 30, interrogator_time: '3/18/2014  1:02:03 PM' } },
      { data: {} },
    ]);
    expect(response.status).toBe(202);
    expect(response.body.ids).toHaveLength(4);
    const rows = await waitForRows(device, 4);
    const byRelative = Object.fromEntries(rows.map((row) => [row.relative_timestamp, row]));
    expect(byRelative[10]).toMatchObject({ interrogator_timestamp: 1_395_139_159_123_456, freeform: 'text' });
    expect(byRelative[20]).toMatchObject({
      interrogator_timestamp: 1_395_140_359_123_456,
      freeform: [1, { a: null }],
    });
    expect(byRelative[30]).toMatchObject({ interrogator_timestamp: 1_395_147_723_000_000, freeform: '' });
    expect(byRelative[-1]).toMatchObject({ interrogator_timestamp: -1, freeform: '' });
    expect(rows.map((row) => row.interrogator_timestamp)).toEqual([
      -1, 1_395_139_159_123_456, 1_395_140_359_123_456, 1_395_147_723_000_000,
    ]);
  });

  it('rejects malformed bodies with 400 naming the item and field, and stores nothing', async () => {
    const device = await registerTestDevice();
    const big = 'x'.repeat(17_000);
    const cases: Array<[unknown, RegExp]> = [
      [undefined, /^body: /],
      [{}, /^data: /],
      [[], /^body: no readings/],
      [{ data: { relative_time: 'soon' } }, /^data\.relative_time: expected an integer/],
      [
        [{ data: {} }, { data: { interrogator_time: '13/45/2014 10:59:19 AM' } }],
        /^\[1\]\.data\.interrogator_time: /,
      ],
      [[{ data: {} }, { nodata: 1 }], /^\[1\]\.data: /],
      [{ data: { db_password: 5 } }, /^data\.db_password: /],
      [{ data: { relative_time: 2 ** 60 } }, /^data\.relative_time: /],
      [{ data: { freeform: big } }, /^data\.freeform: is \d+ bytes of JSON; the limit is 16384/],
      [
        Array.from({ length: 1001 }, () => ({ data: {} })),
        /more than 1000 readings; the limit is 1000 per request/,
      ],
      // serverless-offline hands a JSON string body over already decoded, so offline this one is "not
      // valid JSON"; API Gateway passes it raw and the handler says "body: expected …". 400 either way.
      ['just a string', /^body: |not valid JSON/],
      [42, /^body: /],
    ];
    for (const [body, message] of cases) {
      const response = await put(device, body);
      expect({ body, status: response.status }).toEqual({ body, status: 400 });
      expect({ body, error: response.body.error }).toMatchObject({
        body,
        error: { code: 'ValidationError', message: expect.stringMatching(message) },
      });
    }
    const notJson = await api<{ error: { message: string } }>('PUT', '/api/iot', {
      token: device.token,
      rawBody: '{"data": {',
      headers: { 'content-type': 'application/json' },
    });
    expect(notJson.status).toBe(400);
    expect(notJson.body.error.message).toBe('Request body is not valid JSON');
    const oversize = await api<{ error: { code: string } }>('PUT', '/api/iot', {
      token: device.token,
      rawBody: JSON.stringify(Array.from({ length: 70 }, () => ({ data: { freeform: 'y'.repeat(15_000) } }))),
      headers: { 'content-type': 'application/json' },
    });
    expect(oversize.status).toBe(400);
    expect(oversize.body.error.code).toBe('PayloadTooLarge');

    // A valid write afterwards proves the queue path works; only it is stored.
    expect((await put(device, { data: { relative_time: 1 } })).status).toBe(202);
    const rows = await waitForRows(device, 1);
    expect(rows[0]?.relative_timestamp).toBe(1);
  });

  it('keeps each device to its own data: 401 without credentials, 403 for another device, admin sees any', async () => {
    const owner = await registerTestDevice();
    const intruder = await registerTestDevice();
    expect((await put(owner, { data: { relative_time: 5, freeform: { secret: true } } })).status).toBe(202);
    await waitForRows(owner, 1);

    expect((await api('POST', '/api/iot', {})).status).toBe(401);
    expect((await api('PUT', '/api/iot', { body: { data: {} } })).status).toBe(401);
    const foreign = await api<{ error: { code: string } }>('POST', `/api/devices/${owner.deviceId}/iot`, {
      token: intruder.token,
    });
    expect(foreign.status).toBe(403);
    expect(foreign.body.error.code).toBe('Forbidden');
    expect((await queryAll(intruder)).body.data).toEqual([]);

    const asAdmin = await api<Page>('POST', `/api/devices/${owner.deviceId}/rssi`, { token: adminToken() });
    expect(asAdmin.status).toBe(200);
    expect(asAdmin.body.data.map((row) => row.freeform)).toEqual([{ secret: true }]);
    const ownViaAdminRoute = await api<Page>('POST', `/api/devices/${owner.deviceId}/iot`, {
      token: owner.token,
    });
    expect(ownViaAdminRoute.status).toBe(200);
    expect((await api('POST', '/api/iot', { token: adminToken() })).status).toBe(403);
    expect((await api('PUT', '/api/iot', { token: adminToken(), body: { data: {} } })).status).toBe(403);
  });

  it('honours db_password: rows readable only with what was presented, 403 for a password never used', async () => {
    const device = await registerTestDevice();
    await put(device, [{ data: { relative_time: 1, freeform: 'open' } }]);
    await put(device, [{ data: { db_password: 'alpha', relative_time: 2, freeform: 'with alpha' } }]);
    await put(device, [
      { data: { db_password: 'beta', relative_time: 3, freeform: 'with beta' } },
      { data: { relative_time: 4, freeform: 'open too' } },
    ]);
    await waitForRows(device, 2);
    const alpha = await waitForRows(device, 3, 'alpha');
    expect(alpha.map((row) => row.freeform)).toEqual(['open', 'with alpha', 'open too']);
    const beta = await queryAll(device, 'beta');
    expect(beta.body.data.map((row) => row.freeform)).toEqual(['open', 'with beta', 'open too']);
    const wrong = await queryAll(device, 'gamma');
    expect(wrong.status).toBe(403);
    expect(wrong.body).toEqual({
      error: {
        code: 'Forbidden',
        message: 'db_password does not match any password this device has written with',
      },
    });
    // The same password on another device is a different verifier.
    const other = await registerTestDevice();
    expect((await queryAll(other, 'alpha')).status).toBe(403);
  });

  it('pages with ?limit and the cursor in `next`, and answers seconds/{n} from arrival time', async () => {
    const device = await registerTestDevice();
    const readings = Array.from({ length: 7 }, (_, i) => ({
      data: { relative_time: i, interrogator_time: 100 - i },
    }));
    expect((await put(device, readings)).status).toBe(202);
    await waitForRows(device, 7);
    const seen: number[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const response = await api<Page>('POST', `/api/iot?limit=3${cursor ? `&cursor=${cursor}` : ''}`, {
        token: device.token,
      });
      expect(response.status).toBe(200);
      expect(response.body.data.length).toBeLessThanOrEqual(3);
      seen.push(...response.body.data.map((row) => row.relative_timestamp));
      cursor = response.body.next;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6]);

    const recent = await api<Page>('POST', '/api/iot/seconds/60', { token: device.token });
    expect(recent.body.data.map((row) => row.interrogator_timestamp)).toEqual([94, 95, 96, 97, 98, 99, 100]);
    const recentPage = await api<Page>('POST', '/api/iot/seconds/60?limit=4', { token: device.token });
    expect(recentPage.body.data).toHaveLength(4);
    const rest = await api<Page>(`POST`, `/api/iot/seconds/60?limit=4&cursor=${recentPage.body.next}`, {
      token: device.token,
    });
    expect(rest.body.data).toHaveLength(3);
    expect(rest.body.next).toBeUndefined();

    for (const path of [
      '/api/iot?limit=0',
      '/api/iot?limit=abc',
      '/api/iot?cursor=%%%',
      '/api/iot/5/1',
      '/api/iot/x',
      '/api/iot/seconds/0',
    ]) {
      const response = await api<{ error: { code: string } }>('POST', path, { token: device.token });
      expect({ path, status: response.status }).toEqual({ path, status: 400 });
    }
  });

  it('makes a retried request with the same Idempotency-Key rewrite the same rows, not add copies', async () => {
    const device = await registerTestDevice();
    const body = [{ data: { relative_time: 1 } }, { data: { relative_time: 2 } }];
    const first = await put(device, body, { 'idempotency-key': 'batch-42' });
    const again = await put(device, body, { 'idempotency-key': 'batch-42' });
    expect(again.body.ids).toEqual(first.body.ids);
    await waitForRows(device, 2);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect((await queryAll(device)).body.data).toHaveLength(2);
  });

  it('records one audit entry per write request and per query, visible to the admin only', async () => {
    const device = await registerTestDevice();
    await put(device, [{ data: { relative_time: 1 } }, { data: { relative_time: 2 } }]);
    await waitForRows(device, 2);
    expect((await api('GET', '/api/audit', { token: device.token })).status).toBe(403);
    const entries = await eventually(async () => {
      const response = await api<{ data: Array<Record<string, unknown>> }>('GET', '/api/audit?limit=1000', {
        token: adminToken(),
      });
      const mine = response.body.data.filter((entry) => entry.deviceId === device.deviceId);
      expect(mine.some((entry) => entry.action === 'write')).toBe(true);
      return mine;
    });
    const write = entries.find((entry) => entry.action === 'write');
    expect(write).toMatchObject({
      actor: device.deviceId,
      route: 'PUT /api/iot',
      rows: 2,
      at: expect.any(String),
    });
    const queries = entries.filter((entry) => entry.action === 'query');
    expect(queries.length).toBeGreaterThanOrEqual(1);
    expect(queries.at(-1)).toMatchObject({ actor: device.deviceId, route: 'POST /api/iot' });
    const paged = await api<{ data: unknown[]; next?: string }>('GET', '/api/audit?limit=1', {
      token: adminToken(),
    });
    expect(paged.body.data).toHaveLength(1);
    expect(paged.body.next).toEqual(expect.any(String));
  });
});
