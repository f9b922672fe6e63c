import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { adminToken, api } from '../support/api';
import { registerTestDevice, type TestDevice } from '../support/devices';
import { testLogFile } from '../support/paths';
import { eventually } from '../support/sqs';

// Clock skew through the local stack: readings outside arrival ± window flagged (202 names them, the
// device's status counts them and shows its measured offset) or refused by setting; the window and
// action per device through the admin device API. The stage's defaults: ±300 s, flag.

type Clock = { offsetMs: number; measuredAt: string; flaggedReadings: number; rejectedRequests: number };
type DeviceView = {
  deviceId: string;
  clockSkewWindowSeconds?: number;
  clockSkewAction?: string;
  clock?: Clock;
  error?: { code: string; message: string; details?: Record<string, unknown> };
};
type Accepted = {
  success?: string;
  ids?: string[];
  clockSkew?: { flagged: number[]; offsetMs: number; windowSeconds: number };
  error?: { code: string; message: string; details?: Record<string, unknown> };
};

const HOUR = 3_600_000;
/** interrogator_time (epoch µs) of a reading taken `offsetMs` from now by a correct clock. */
const at = (offsetMs: number) => String((Date.now() + offsetMs) * 1000);
const reading = (interrogatorTime: string | number, relative = 1) => ({
  data: { relative_time: relative, interrogator_time: interrogatorTime, freeform: { t: relative } },
});

const put = (device: TestDevice, body: unknown) =>
  api<Accepted>('PUT', '/api/iot', { token: device.token, body });
const deviceView = (deviceId: string, token = adminToken()) =>
  api<DeviceView>('GET', `/api/devices/${deviceId}`, { token });
const patch = (deviceId: string, body: unknown) =>
  api<DeviceView>('PATCH', `/api/devices/${deviceId}`, { token: adminToken(), body });
/** The EMF values the functions printed for a metric so far in this run. */
const metricValues = (name: string): number[] =>
  readFileSync(testLogFile, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{') && line.includes(`"Name":"${name}"`))
    .map((line) => (JSON.parse(line) as Record<string, number>)[name] ?? 0);
const storedCount = async (device: TestDevice) =>
  (await api<{ data: unknown[] }>('POST', '/api/iot', { token: device.token })).body.data.length;

// Offsets are measured against the server's arrival time: equal to ours within a few seconds.
const within = (value: number | undefined, expected: number) => {
  expect(value).toBeDefined();
  expect(Math.abs((value as number) - expected)).toBeLessThan(10_000);
};

describe('clock skew', () => {
  it('flags readings outside ± the default window, stores them all, and shows the offset and count', async () => {
    const device = await registerTestDevice();
    const flaggedBefore = metricValues('ClockSkewFlagged').length;
    const response = await put(device, [reading(at(0), 1), reading(at(HOUR), 2), reading(-1, 3)]);
    expect(response.status).toBe(202);
    await eventually(async () =>
      expect(metricValues('ClockSkewFlagged').length).toBeGreaterThan(flaggedBefore),
    );
    expect(response.body.clockSkew?.flagged).toEqual([1]);
    expect(response.body.clockSkew?.windowSeconds).toBe(300);
    within(response.body.clockSkew?.offsetMs, HOUR);
    await eventually(async () => expect(await storedCount(device)).toBe(3));

    const view = await deviceView(device.deviceId);
    expect(view.status).toBe(200);
    expect(view.body.clock).toMatchObject({ flaggedReadings: 1, rejectedRequests: 0 });
    within(view.body.clock?.offsetMs, HOUR);
    expect(Math.abs(Date.parse(view.body.clock?.measuredAt ?? '') - Date.now())).toBeLessThan(60_000);
    // The device reads its own status; not another device's.
    const own = await deviceView(device.deviceId, device.token);
    expect(own.status).toBe(200);
    expect(own.body.clock?.flaggedReadings).toBe(1);
    const other = await registerTestDevice();
    expect((await deviceView(device.deviceId, other.token)).status).toBe(403);
  });

  it('answers in-window requests exactly as the original service did, and checks gzip bodies the same', async () => {
    const device = await registerTestDevice();
    const response = await put(device, [reading(at(-5_000)), reading(at(2_000))]);
    expect(response.status).toBe(202);
    expect(Object.keys(response.body).sort()).toEqual(['ids', 'success']);
    const compressed = await api<Accepted>('PUT', '/api/iot', {
      token: device.token,
      rawBody: gzipSync(JSON.stringify([reading(at(-2 * HOUR))])),
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    });
    expect(compressed.status).toBe(202);
    expect(compressed.body.clockSkew?.flagged).toEqual([0]);
  });

  it('uses a per-device window instead of the default (set at registration or later)', async () => {
    const wide = await registerTestDevice();
    expect((await patch(wide.deviceId, { clockSkewWindowSeconds: 7_200 })).body.clockSkewWindowSeconds).toBe(
      7_200,
    );
    const hourAhead = await put(wide, [reading(at(HOUR))]);
    expect(hourAhead.status).toBe(202);
    expect(hourAhead.body.clockSkew).toBeUndefined();

    const registered = await api<{ deviceId: string; token: string; clockSkewWindowSeconds: number }>(
      'POST',
      '/api/devices',
      { token: adminToken(), body: { name: 'narrow', clockSkewWindowSeconds: 10 } },
    );
    expect(registered.status).toBe(201);
    expect(registered.body.clockSkewWindowSeconds).toBe(10);
    const narrow = { deviceId: registered.body.deviceId, token: registered.body.token };
    // A minute off is inside the default 300 s, outside this device's 10 s.
    const minuteBehind = await put(narrow, [reading(at(-60_000))]);
    expect(minuteBehind.body.clockSkew).toMatchObject({ flagged: [0], windowSeconds: 10 });
  });

  it('refuses the whole request when the device says reject: 400 naming the reading, nothing queued', async () => {
    const device = await registerTestDevice();
    const set = await patch(device.deviceId, { clockSkewAction: 'reject' });
    expect(set.status).toBe(200);
    expect(set.body.clockSkewAction).toBe('reject');
    const rejectedBefore = metricValues('ClockSkewRejected').length;
    const response = await put(device, [reading(at(0), 1), reading(at(1_000), 2), reading(at(-2 * HOUR), 3)]);
    expect(response.status).toBe(400);
    await eventually(async () =>
      expect(metricValues('ClockSkewRejected').length).toBeGreaterThan(rejectedBefore),
    );
    expect(response.body.error?.code).toBe('ValidationError');
    expect(response.body.error?.message).toMatch(/^\[2\]\.data\.interrogator_time: -7\d{3}\.\d{3} s from/);
    expect(response.body.error?.details).toMatchObject({
      field: '[2].data.interrogator_time',
      windowSeconds: 300,
      readingsOutside: 1,
    });
    // In-window readings still go through; the refused ones never do.
    expect((await put(device, [reading(at(0), 4)])).status).toBe(202);
    await eventually(async () => expect(await storedCount(device)).toBe(1));
    const view = await deviceView(device.deviceId);
    expect(view.body.clock?.rejectedRequests).toBe(1);
  });

  it('writes the device item only when the offset moved materially (steady clocks: once a minute)', async () => {
    const device = await registerTestDevice();
    await put(device, [reading(at(HOUR))]);
    const first = (await deviceView(device.deviceId)).body.clock as Clock;
    expect(first.flaggedReadings).toBe(1);
    // Same offset again: counted, but not written yet (no new measurement, counter unchanged).
    await put(device, [reading(at(HOUR))]);
    const unchanged = (await deviceView(device.deviceId)).body.clock as Clock;
    expect(unchanged.measuredAt).toBe(first.measuredAt);
    expect(unchanged.flaggedReadings).toBe(1);
    // The clock jumps another hour: written at once, with the count this container held back (3 when
    // one container took all three requests; under parallel load another may hold the middle one).
    await put(device, [reading(at(2 * HOUR))]);
    const moved = (await deviceView(device.deviceId)).body.clock as Clock;
    within(moved.offsetMs, 2 * HOUR);
    expect(moved.flaggedReadings).toBeGreaterThanOrEqual(2);
    expect(moved.flaggedReadings).toBeLessThanOrEqual(3);
  });

  it('clears a per-device setting with null (the default applies again)', async () => {
    const device = await registerTestDevice();
    await patch(device.deviceId, { clockSkewWindowSeconds: 5, clockSkewAction: 'reject' });
    const cleared = await patch(device.deviceId, { clockSkewWindowSeconds: null, clockSkewAction: null });
    expect(cleared.status).toBe(200);
    expect(cleared.body.clockSkewWindowSeconds).toBeUndefined();
    expect(cleared.body.clockSkewAction).toBeUndefined();
  });

  it.each([
    [{ clockSkewWindowSeconds: 0 }],
    [{ clockSkewWindowSeconds: -5 }],
    [{ clockSkewWindowSeconds: 1.5 }],
    [{ clockSkewWindowSeconds: '300' }],
    [{ clockSkewWindowSeconds: 31_536_001 }],
    [{ clockSkewAction: 'drop' }],
    [{ clockSkewAction: '' }],
    [{ tokenHash: 'x' }],
    [{ status: 'active' }],
    [{}],
    [[]],
    ['reject'],
  ])('refuses the setting %p with 400, changing nothing', async (body) => {
    const device = await registerTestDevice();
    const response = await patch(device.deviceId, body);
    expect(response.status).toBe(400);
    expect(response.body.error?.code).toBe('ValidationError');
    const view = await deviceView(device.deviceId);
    expect(view.body.clockSkewWindowSeconds).toBeUndefined();
    expect(view.body.clockSkewAction).toBeUndefined();
  });

  it('refuses bad settings at registration too, and answers 404 for an unknown device', async () => {
    const bad = await api<DeviceView>('POST', '/api/devices', {
      token: adminToken(),
      body: { clockSkewAction: 'ignore' },
    });
    expect(bad.status).toBe(400);
    const missing = await patch('t_doesnotexist00', { clockSkewWindowSeconds: 60 });
    expect(missing.status).toBe(404);
  });
});
