import {
  expectedBuckets,
  expectSameBuckets,
  FIELDS,
  type RawReading,
  randomFreeform,
  valueAt,
} from '../support/aggregates';
import { adminToken, api } from '../support/api';
import { registerTestDevice, type TestDevice } from '../support/devices';
import { runJob } from '../support/jobs';
import { eventually } from '../support/sqs';

// The aggregates routes over HTTP: readings sent through ingest (random values at nested paths, some
// with a db_password), answers checked against values computed here from what was sent, before and
// after the compaction job, and bad input answered 400 with nothing read.
const HOUR = 3_600_000;
const MINUTE = 60_000;

type Answer = {
  field: string;
  step: string;
  data: Array<{ t: string; count: number; min: number; max: number; sum: number; avg: number }>;
  unreadable?: string[];
  error?: { code: string; message: string };
};

const aggregates = (token: string, query: string, path = '/api/iot/aggregates') =>
  api<Answer>('GET', `${path}?${query}`, { token });

const iso = (ms: number) => new Date(ms).toISOString();

async function send(device: TestDevice, readings: RawReading[], path = '/api/iot') {
  const response = await api('PUT', path, {
    token: device.token,
    body: readings.map((reading, index) => ({
      data: {
        relative_time: index,
        interrogator_time: String(reading.t * 1000),
        freeform: reading.freeform,
        ...(reading.password ? { db_password: reading.password } : {}),
      },
    })),
  });
  expect(response.status).toBe(202);
}

describe('aggregates API over HTTP', () => {
  const now = Date.now();
  const currentHour = now - (now % HOUR);
  const from = currentHour - 3 * HOUR;
  let device: TestDevice;
  let readings: RawReading[];

  beforeAll(async () => {
    device = await registerTestDevice('aggregates');
    readings = Array.from({ length: 300 }, (_, index) => ({
      t: Math.floor(from + Math.random() * (now - 1_000 - from)),
      freeform: randomFreeform(),
      ...(index % 5 === 0 ? { password: 'pw-aggregates-1' } : {}),
    }));
    await send(device, readings.slice(0, 150));
    await send(device, readings.slice(150), '/api/rssi');
  });

  async function expectAnswers(token: string, path = '/api/iot/aggregates') {
    for (const [step, stepMs] of [
      ['5m', 5 * MINUTE],
      ['1h', HOUR],
      ['6h', 6 * HOUR],
    ] as const) {
      for (const field of FIELDS) {
        const response = await aggregates(
          token,
          `field=${field}&from=${iso(from)}&to=${iso(now)}&step=${step}`,
          path,
        );
        expect(response.status).toBe(200);
        expect(response.body).toMatchObject({ field, step });
        expectSameBuckets(response.body.data, expectedBuckets(readings, field, from, now, stepMs));
      }
    }
  }

  it('answers what the raw readings give (password rows left out), before and after compaction', async () => {
    // Both requests stored: every field's total is there.
    await eventually(async () => {
      const response = await aggregates(device.token, `field=temp&from=${iso(from)}&to=${iso(now)}&step=1d`);
      const expected = expectedBuckets(readings, 'temp', from, now, 24 * HOUR);
      expect(response.body.data.map((bucket) => bucket.count)).toEqual(
        expected.map((bucket) => bucket.count),
      );
    });
    await expectAnswers(device.token);
    await runJob('compact-aggregates');
    await expectAnswers(device.token);
    // The same under /api/rssi, and for an administrator under /api/devices/{deviceId}/….
    await expectAnswers(device.token, '/api/rssi/aggregates');
    await expectAnswers(adminToken(), `/api/devices/${device.deviceId}/iot/aggregates`);

    // Without a step: the finest with at most 1,000 buckets (3 hours → 1m).
    const chosen = await aggregates(device.token, `field=env.humidity&from=${iso(from)}&to=${iso(now)}`);
    expect(chosen.body.step).toBe('1m');
    expectSameBuckets(chosen.body.data, expectedBuckets(readings, 'env.humidity', from, now, MINUTE));

    const fields = await api<{ data: Array<{ field: string; count: number }>; next?: string }>(
      'GET',
      '/api/iot/fields',
      { token: device.token },
    );
    expect(fields.status).toBe(200);
    expect(fields.body).toEqual({
      data: [...FIELDS].sort().map((field) => ({
        field,
        count: readings.filter((r) => !r.password && valueAt(r.freeform, field) !== undefined).length,
      })),
    });

    const audit = await api<{ data: Array<{ route: string; deviceId: string; action: string }> }>(
      'GET',
      '/api/audit?limit=1000',
      { token: adminToken() },
    );
    const routes = audit.body.data
      .filter((entry) => entry.deviceId === device.deviceId)
      .map((entry) => entry.route);
    expect(routes).toEqual(
      expect.arrayContaining([
        'GET /api/iot/aggregates',
        'GET /api/iot/fields',
        'GET /api/devices/{deviceId}/iot/aggregates',
      ]),
    );
  });

  it('answers 400 with a JSON error for a bad field, time, step or range', async () => {
    const day = 'from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z';
    const cases: Array<[string, string]> = [
      ['', 'field'],
      [`field=temp&from=yesterday&to=2026-11-02T00:00:00Z`, 'from'],
      [`field=temp&from=2026-11-01&to=2026-11-02T00:00:00Z`, 'from'],
      [`field=temp&from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z`, 'to'],
      [`field=temp&from=2020-01-01T00:00:00Z&to=2026-11-01T00:00:00Z`, 'to'],
      [`field=temp&${day}&step=2h`, 'step'],
      [`field=temp&${day}&step=1m`, 'step'],
      [`field=a..b&${day}`, 'field'],
      [`field=${'a'.repeat(200)}&${day}`, 'field'],
      [`field=temp&${day}&limit=5`, 'query'],
    ];
    for (const [query, field] of cases) {
      const response = await aggregates(device.token, query);
      expect({ query, status: response.status, code: response.body.error?.code }).toEqual({
        query,
        status: 400,
        code: 'ValidationError',
      });
      expect(response.body.error?.message.startsWith(field)).toBe(true);
    }
    const badCursor = await api<Answer>('GET', '/api/iot/fields?cursor=bm9wZQ', { token: device.token });
    expect(badCursor.status).toBe(400);
    const badLimit = await api<Answer>('GET', '/api/iot/fields?limit=0', { token: device.token });
    expect(badLimit.status).toBe(400);
  });

  it('keeps a device to its own aggregates', async () => {
    const other = await registerTestDevice('aggregates other');
    const query = `field=temp&from=${iso(from)}&to=${iso(now)}&step=1h`;
    expect((await aggregates(other.token, query)).body.data).toEqual([]);
    const foreign = await aggregates(other.token, query, `/api/devices/${device.deviceId}/iot/aggregates`);
    expect(foreign.status).toBe(403);
    expect(
      (await api('GET', `/api/devices/${device.deviceId}/iot/fields`, { token: other.token })).status,
    ).toBe(403);
    expect((await aggregates(adminToken(), query)).status).toBe(403);
  });
});
