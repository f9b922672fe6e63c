import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { RuleAlert } from '../../src/lib/alerts/alerts';
import { adminToken, api } from '../support/api';
import { registerTestDevice, type TestDevice } from '../support/devices';
import { sleep } from '../support/jobs';

// Alert rules on values through the local stack: rules over HTTP, readings over HTTP, alerts read back
// from the stack's alerts file (offline SNS). Every rule names a field unique to this run, so no other
// test's readings can match it, and the alerts are found by device.

interface Rule {
  ruleId: string;
  version: number;
  devices: 'all' | string[];
  field: string;
  comparison: string;
  threshold: number;
  forSeconds?: number;
  forReadings?: number;
  severity: string;
  enabled: boolean;
  name?: string;
}

type RuleAlertLine = RuleAlert & { stage: string; subject: string };

const run = randomBytes(4).toString('hex');
const fieldName = (name: string) => `alerttest_${run}.${name}`;
const T0 = Date.UTC(2026, 10, 1, 12, 0, 0);

const ruleAlerts = (deviceId: string): RuleAlertLine[] => {
  let text = '';
  try {
    text = readFileSync(process.env.LOCAL_ALERTS_FILE as string, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as RuleAlertLine)
    .filter((alert) => alert.deviceId === deviceId && alert.type.startsWith('rule.'));
};

async function createRule(body: Record<string, unknown>): Promise<Rule> {
  const response = await api<Rule>('POST', '/api/alert-rules', { token: adminToken(), body });
  if (response.status !== 201) throw new Error(`rule creation failed: ${response.status} ${response.text}`);
  return response.body;
}

/**
 * One request of readings: [seconds after T0, value] each, the value at `field`. A 401/5xx (offline: a
 * cold worker under load outlasting a timeout) is retried under the same Idempotency-Key, as a device
 * would: by the same request, never a new one.
 */
async function send(
  device: TestDevice,
  field: string,
  readings: Array<[number, number]>,
  options: { idempotencyKey?: string; password?: string } = {},
) {
  const [group, key] = field.split('.') as [string, string];
  const body = readings.map(([seconds, value]) => ({
    data: {
      relative_time: seconds,
      interrogator_time: (T0 + seconds * 1000) * 1000,
      freeform: { [group]: { [key]: value } },
      ...(options.password ? { db_password: options.password } : {}),
    },
  }));
  const idempotencyKey = options.idempotencyKey ?? randomBytes(8).toString('hex');
  let response = await api('PUT', '/api/iot', {
    token: device.token,
    body,
    headers: { 'idempotency-key': idempotencyKey },
  });
  for (let attempt = 1; attempt < 4 && (response.status === 401 || response.status >= 500); attempt++) {
    response = await api('PUT', '/api/iot', {
      token: device.token,
      body,
      headers: { 'idempotency-key': idempotencyKey },
    });
  }
  expect(response.status).toBe(202);
  return response;
}

/**
 * Starts enough ingest (and authorizer) workers for `parallel` requests at once: serverless offline
 * starts one per concurrent request, and a cold start under load can outlast the authorizer's timeout
 * (a 401 offline). The warm-up readings lack the rule's field, so they change no state.
 */
async function warmUp(device: TestDevice, parallel: number): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const statuses = await Promise.all(
      Array.from({ length: parallel }, () =>
        api('PUT', '/api/iot', { token: device.token, body: { data: { freeform: { warm: 1 } } } }).then(
          (response) => response.status,
        ),
      ),
    );
    if (statuses.every((status) => status === 202)) return;
  }
}

const states = async (deviceId: string) =>
  (
    await api<{ data: Array<{ ruleId: string; state: string; transitions: number }> }>(
      'GET',
      `/api/alerts?deviceId=${deviceId}`,
      { token: adminToken() },
    )
  ).body.data;

describe('alert rules on values, through the local stack', () => {
  const devices: Record<string, TestDevice> = {};
  const rules: Record<string, Rule> = {};

  beforeAll(async () => {
    for (const name of ['count', 'retry', 'concurrent', 'duration', 'password', 'all'])
      devices[name] = await registerTestDevice(`alerts ${name}`);
    const at = (name: string) => [devices[name]?.deviceId as string];
    rules.count = await createRule({
      name: 'hot',
      devices: at('count'),
      field: fieldName('temperature'),
      comparison: '>',
      threshold: 30,
      forReadings: 2,
      severity: 'critical',
    });
    rules.retry = await createRule({
      devices: at('retry'),
      field: fieldName('retry'),
      comparison: 'gte',
      threshold: 10,
    });
    rules.concurrent = await createRule({
      devices: at('concurrent'),
      field: fieldName('concurrent'),
      comparison: '>',
      threshold: 0,
    });
    rules.duration = await createRule({
      devices: at('duration'),
      field: fieldName('duration'),
      comparison: '<',
      threshold: 5,
      forSeconds: 60,
    });
    rules.password = await createRule({
      devices: at('password'),
      field: fieldName('secret'),
      comparison: '!=',
      threshold: 0,
    });
    rules.all = await createRule({ devices: 'all', field: fieldName('any'), comparison: 'eq', threshold: 7 });
    // Ingest containers reuse the rules they read for ALERT_RULES_CACHE_SECONDS (2 s offline).
    await sleep(2_500);
  });

  afterAll(async () => {
    for (const rule of Object.values(rules))
      await api('DELETE', `/api/alert-rules/${rule.ruleId}`, { token: adminToken() });
  });

  it('fires once and clears once across several requests, with one alert each carrying ids, field, value and threshold', async () => {
    const device = devices.count as TestDevice;
    const field = fieldName('temperature');
    await send(device, field, [[0, 25]]);
    await send(device, field, [[1, 31]]);
    expect(ruleAlerts(device.deviceId)).toEqual([]);
    await send(device, field, [
      [2, 32],
      [3, 33],
    ]);
    await send(device, field, [[4, 34]]);
    const firing = ruleAlerts(device.deviceId);
    expect(firing).toHaveLength(1);
    expect(firing[0]).toMatchObject({
      type: 'rule.firing',
      alertId: `${rules.count?.ruleId}:${device.deviceId}:1`,
      ruleId: rules.count?.ruleId,
      deviceId: device.deviceId,
      severity: 'critical',
      field,
      comparison: '>',
      threshold: 30,
      value: 32,
      readingAt: new Date(T0 + 2000).toISOString(),
      stage: 'local',
    });
    expect(firing[0]?.subject).toContain(rules.count?.ruleId);
    const listed = await api<{ data: Array<Record<string, unknown>> }>('GET', '/api/alerts?limit=1000', {
      token: adminToken(),
    });
    expect(listed.status).toBe(200);
    expect(listed.body.data).toContainEqual(
      expect.objectContaining({ ruleId: rules.count?.ruleId, deviceId: device.deviceId, state: 'firing' }),
    );

    await send(device, field, [[5, 20]]);
    await send(device, field, [[6, 35]]);
    await send(device, field, [
      [7, 10],
      [8, 10],
      [9, 9],
    ]);
    await send(device, field, [[10, 8]]);
    const all = ruleAlerts(device.deviceId);
    expect(all.map((alert) => [alert.type, alert.value, alert.alertId.split(':')[2]])).toEqual([
      ['rule.firing', 32, '1'],
      ['rule.cleared', 10, '2'],
    ]);
    expect(await states(device.deviceId)).toEqual([
      expect.objectContaining({ ruleId: rules.count?.ruleId, state: 'clear', transitions: 2 }),
    ]);
    // A device sees its own states, and only its own.
    const own = await api<{ data: Array<{ deviceId: string }> }>('GET', '/api/alerts', {
      token: device.token,
    });
    expect(own.status).toBe(200);
    expect(own.body.data.map((state) => state.deviceId)).toEqual([device.deviceId]);
    const other = await api('GET', `/api/alerts?deviceId=${devices.retry?.deviceId}`, {
      token: device.token,
    });
    expect(other.status).toBe(403);
  });

  it('does not alert twice for a request retried with its Idempotency-Key, sequentially or delivered twice at once', async () => {
    const device = devices.retry as TestDevice;
    const field = fieldName('retry');
    const key = `retry-${run}`;
    await warmUp(device, 2);
    await Promise.all([
      send(device, field, [[0, 12]], { idempotencyKey: key }),
      send(device, field, [[0, 12]], { idempotencyKey: key }),
    ]);
    await send(device, field, [[0, 12]], { idempotencyKey: key });
    expect(ruleAlerts(device.deviceId).map((alert) => alert.type)).toEqual(['rule.firing']);
    const clearKey = `clear-${run}`;
    await send(device, field, [[1, 3]], { idempotencyKey: clearKey });
    await send(device, field, [[1, 3]], { idempotencyKey: clearKey });
    expect(ruleAlerts(device.deviceId).map((alert) => alert.type)).toEqual(['rule.firing', 'rule.cleared']);
  });

  it('records one transition when concurrent requests cross the threshold together', async () => {
    const device = devices.concurrent as TestDevice;
    const field = fieldName('concurrent');
    await warmUp(device, 6);
    await Promise.all(Array.from({ length: 6 }, (_, index) => send(device, field, [[index, 5 + index]])));
    expect(ruleAlerts(device.deviceId).map((alert) => alert.type)).toEqual(['rule.firing']);
    await Promise.all(Array.from({ length: 6 }, (_, index) => send(device, field, [[10 + index, -1]])));
    expect(ruleAlerts(device.deviceId).map((alert) => alert.type)).toEqual(['rule.firing', 'rule.cleared']);
    expect(await states(device.deviceId)).toEqual([
      expect.objectContaining({ state: 'clear', transitions: 2 }),
    ]);
  });

  it('fires a duration rule only once the condition has held for forSeconds of reading time', async () => {
    const device = devices.duration as TestDevice;
    const field = fieldName('duration');
    await send(device, field, [[0, 4]]);
    await send(device, field, [[30, 3]]);
    await send(device, field, [[59, 2]]);
    expect(ruleAlerts(device.deviceId)).toEqual([]);
    await send(device, field, [[60, 1]]);
    expect(ruleAlerts(device.deviceId)).toEqual([
      expect.objectContaining({
        type: 'rule.firing',
        value: 1,
        readingAt: new Date(T0 + 60_000).toISOString(),
      }),
    ]);
    // A late reading (older than what was evaluated) changes nothing.
    await send(device, field, [[45, 9]]);
    expect(ruleAlerts(device.deviceId)).toHaveLength(1);
  });

  it('skips readings sealed with a db_password unless the device allows it, and never sends their value', async () => {
    const device = devices.password as TestDevice;
    const field = fieldName('secret');
    await send(device, field, [[0, 99]], { password: 'hunter2' });
    expect(ruleAlerts(device.deviceId)).toEqual([]);
    expect(await states(device.deviceId)).toEqual([]);

    const allowed = await api<{ alertsOnPasswordReadings?: boolean }>(
      'PATCH',
      `/api/devices/${device.deviceId}`,
      {
        token: adminToken(),
        body: { alertsOnPasswordReadings: true },
      },
    );
    expect(allowed.status).toBe(200);
    expect(allowed.body.alertsOnPasswordReadings).toBe(true);
    await send(device, field, [[1, 99]], { password: 'hunter2' });
    const [firing] = ruleAlerts(device.deviceId);
    expect(firing).toMatchObject({ type: 'rule.firing', readingAt: new Date(T0 + 1000).toISOString() });
    expect(firing && 'value' in firing).toBe(false);
    // A reading without a password clears it, with its value.
    await send(device, field, [[2, 0]]);
    expect(ruleAlerts(device.deviceId).map((alert) => [alert.type, alert.value])).toEqual([
      ['rule.firing', undefined],
      ['rule.cleared', 0],
    ]);
    // The setting is validated like any other input.
    for (const body of [{ alertsOnPasswordReadings: 'yes' }, {}, { token: 'x' }]) {
      const bad = await api('PATCH', `/api/devices/${device.deviceId}`, { token: adminToken(), body });
      expect(bad.status).toBe(400);
    }
    expect(
      (await api('PATCH', '/api/devices/t_nobody_here', { token: adminToken(), body: { name: 'x' } })).status,
    ).toBe(404);
  });

  it('applies a rule for all devices to any device, and lists its states only while it is in force', async () => {
    const device = devices.all as TestDevice;
    await send(device, fieldName('any'), [
      [0, 6],
      [1, 7],
    ]);
    expect(ruleAlerts(device.deviceId)).toEqual([
      expect.objectContaining({ type: 'rule.firing', ruleId: rules.all?.ruleId, value: 7, comparison: '==' }),
    ]);
    expect(await states(device.deviceId)).toEqual([expect.objectContaining({ state: 'firing' })]);
    // A disabled rule is no longer in force: its states are not listed as current.
    const disabled = await api('PATCH', `/api/alert-rules/${rules.all?.ruleId}`, {
      token: adminToken(),
      body: { enabled: false },
    });
    expect(disabled.status).toBe(200);
    expect(await states(device.deviceId)).toEqual([]);
  });
});

describe('alert rules API', () => {
  const base = { devices: 'all', field: fieldName('crud'), comparison: '>', threshold: 1, enabled: false };

  it('creates, shows, lists, changes with versions and deletes a rule, auditing each change', async () => {
    const created = await createRule({ ...base, name: 'crud', forSeconds: 30 });
    expect(created).toMatchObject({ ...base, name: 'crud', forSeconds: 30, version: 1, severity: 'warning' });
    expect(created.ruleId).toMatch(/^rule_/);
    const shown = await api<Rule>('GET', `/api/alert-rules/${created.ruleId}`, { token: adminToken() });
    expect(shown.body).toEqual(created);

    await createRule(base);
    const first = await api<{ data: Rule[]; next?: string }>('GET', '/api/alert-rules?limit=1', {
      token: adminToken(),
    });
    expect(first.status).toBe(200);
    expect(first.body.data).toHaveLength(1);
    expect(first.body.next).toEqual(expect.any(String));
    const rest = await api<{ data: Rule[] }>('GET', `/api/alert-rules?limit=1000&cursor=${first.body.next}`, {
      token: adminToken(),
    });
    expect([...first.body.data, ...rest.body.data].map((rule) => rule.ruleId)).toContain(created.ruleId);

    const path = `/api/alert-rules/${created.ruleId}`;
    const stale = await api('PATCH', path, {
      token: adminToken(),
      body: { threshold: 2 },
      headers: { 'if-match': '7' },
    });
    expect(stale.status).toBe(409);
    const changed = await api<Rule>('PATCH', path, {
      token: adminToken(),
      body: { threshold: 2, forReadings: 3, name: null },
      headers: { 'if-match': '"1"' },
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ threshold: 2, forReadings: 3, version: 2 });
    expect(changed.body.forSeconds).toBeUndefined();
    expect(changed.body.name).toBeUndefined();

    // Two changes based on the same version: one wins, the other is told to re-read.
    const racing = await Promise.all(
      [5, 6].map((threshold) =>
        api('PATCH', path, { token: adminToken(), body: { threshold }, headers: { 'if-match': '2' } }),
      ),
    );
    expect(racing.map((response) => response.status).sort()).toEqual([200, 409]);
    const loser = racing.find((response) => response.status === 409);
    expect(loser?.body).toMatchObject({ error: { code: 'Conflict' } });

    const deleted = await api('DELETE', path, { token: adminToken() });
    expect(deleted.status).toBe(200);
    expect((await api('GET', path, { token: adminToken() })).status).toBe(404);
    expect((await api('DELETE', path, { token: adminToken() })).status).toBe(404);
    expect((await api('PATCH', path, { token: adminToken(), body: { threshold: 1 } })).status).toBe(404);

    const audit = await api<{ data: Array<{ action: string; target?: string; actor: string }> }>(
      'GET',
      '/api/audit?limit=1000&days=1',
      { token: adminToken() },
    );
    const ours = audit.body.data
      .filter((entry) => entry.target === created.ruleId)
      .map((entry) => entry.action);
    expect(ours.sort()).toEqual(
      ['alert-rule.change', 'alert-rule.change', 'alert-rule.create', 'alert-rule.delete'].sort(),
    );
  });

  it('answers bad input with a 400 JSON error that changes nothing', async () => {
    const before = await api<{ data: Rule[] }>('GET', '/api/alert-rules?limit=1000', { token: adminToken() });
    for (const body of [
      { ...base, comparison: '=>' },
      { ...base, field: 'a..b' },
      { ...base, field: '' },
      { ...base, threshold: 'high' },
      { ...base, threshold: null },
      { ...base, devices: [] },
      { ...base, devices: ['not a device'] },
      { ...base, devices: ['t_never_registered'] },
      { ...base, devices: Array.from({ length: 101 }, (_, index) => `t_${index}xx`) },
      { ...base, forSeconds: 5, forReadings: 5 },
      { ...base, forSeconds: -1 },
      { ...base, severity: 'panic' },
      { ...base, ruleId: 'rule_mine' },
      [base],
      'rule',
    ]) {
      const response = await api<{ error: { code: string } }>('POST', '/api/alert-rules', {
        token: adminToken(),
        body,
      });
      expect({ body, status: response.status, code: response.body.error?.code }).toEqual({
        body,
        status: 400,
        code: 'ValidationError',
      });
    }
    const after = await api<{ data: Rule[] }>('GET', '/api/alert-rules?limit=1000', { token: adminToken() });
    expect(after.body.data.length).toBe(before.body.data.length);

    const rule = await createRule(base);
    const path = `/api/alert-rules/${rule.ruleId}`;
    for (const [body, headers] of [
      [{}, {}],
      [{ version: 3 }, {}],
      [{ comparison: 'between' }, {}],
      [{ threshold: 2 }, { 'if-match': 'abc' }],
    ] as const) {
      const response = await api('PATCH', path, { token: adminToken(), body, headers });
      expect(response.status).toBe(400);
    }
    expect((await api<Rule>('GET', path, { token: adminToken() })).body.version).toBe(1);
    for (const [method, target] of [
      ['GET', '/api/alert-rules/nope'],
      ['GET', '/api/alert-rules?limit=0'],
      ['GET', '/api/alert-rules?cursor=garbage'],
      ['GET', '/api/alerts?state=burning'],
      ['GET', '/api/alerts?deviceId=a.b'],
      ['GET', '/api/alerts?cursor=garbage'],
    ]) {
      expect((await api(method as string, target as string, { token: adminToken() })).status).toBe(400);
    }
    await api('DELETE', path, { token: adminToken() });
  });

  it('refuses devices: a device token cannot read or change rules', async () => {
    const device = await registerTestDevice('not an admin');
    const rule = await createRule(base);
    const path = `/api/alert-rules/${rule.ruleId}`;
    for (const [method, target, body] of [
      ['POST', '/api/alert-rules', base],
      ['GET', '/api/alert-rules', undefined],
      ['GET', path, undefined],
      ['PATCH', path, { threshold: 9 }],
      ['DELETE', path, undefined],
    ] as const) {
      const response = await api<{ error: { code: string } }>(method, target, { token: device.token, body });
      expect(response.status).toBe(403);
      expect(response.body.error.code).toBe('Forbidden');
    }
    expect((await api<Rule>('GET', path, { token: adminToken() })).body).toEqual(rule);
    await api('DELETE', path, { token: adminToken() });
  });

  it("answers forged cursors with 400: no cursor leads a device into another device's states", async () => {
    const device = await registerTestDevice('cursor forger');
    const victim = await registerTestDevice('cursor victim');
    const cursorOf = (position: unknown) => Buffer.from(JSON.stringify(position)).toString('base64url');
    const ruleId = `rule_${'a'.repeat(16)}`;
    const cases: Array<[string, string]> = [
      ['/api/alert-rules', cursorOf({ pk: 'rule', sk: '' })],
      ['/api/alert-rules', cursorOf({ pk: 'state#x', sk: ruleId })],
      ['/api/alert-rules', cursorOf({ pk: 'rule', sk: 'x'.repeat(1500) })],
      [
        '/api/alerts',
        cursorOf({ alertStatus: 'clear', stateKey: `${ruleId}#abc`, pk: `state#${ruleId}`, sk: 'abc' }),
      ],
      ['/api/alerts', cursorOf({ alertStatus: 'firing', stateKey: '', pk: '', sk: '' })],
      ['/api/alerts', cursorOf({ deviceId: 'abc', ruleId, pk: `state#${ruleId}`, sk: 'abc' })],
      ['/api/alerts', 'A'.repeat(5000)],
    ];
    for (const [path, cursor] of cases) {
      const response = await api('GET', `${path}?cursor=${encodeURIComponent(cursor)}`, {
        token: adminToken(),
      });
      expect({ path, cursor, status: response.status }).toEqual({ path, cursor, status: 400 });
    }
    // A device's own listing resumes only inside its own partition of the index.
    const other = cursorOf({ deviceId: victim.deviceId, ruleId, pk: `state#${ruleId}`, sk: victim.deviceId });
    const forged = await api('GET', `/api/alerts?cursor=${other}`, { token: device.token });
    expect(forged.status).toBe(400);
  });
});
