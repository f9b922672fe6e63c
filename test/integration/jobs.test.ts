import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { adminToken, api } from '../support/api';
import type { TestDevice } from '../support/devices';
import { alertsFile, runJob, sleep } from '../support/jobs';
import { testLogFile } from '../support/paths';
import { sealedMessage } from '../support/readings';
import { eventually, sqs } from '../support/sqs';

// The scheduled jobs as the running stack runs them: through serverless-offline's Lambda Invoke API,
// against the shared tables and queues (so global figures are only bounded here; the isolated tests
// check them exactly).

type DeviceRollup = {
  deviceId: string;
  intervalStart: string;
  intervalEnd: string;
  readingsStored: number;
  total: number;
  lastSeenAt: string | null;
  maxRelativeTime: number | null;
};
type Series<T> = { series: string; deviceId?: string; intervalSeconds: number; data: T[] };

async function register(expectedIntervalSeconds?: number): Promise<TestDevice & { createdAt: string }> {
  const response = await api<{ deviceId: string; token: string; createdAt: string }>('POST', '/api/devices', {
    token: adminToken(),
    body: {
      deviceId: `j_${randomBytes(8).toString('hex')}`,
      ...(expectedIntervalSeconds ? { expectedIntervalSeconds } : {}),
    },
  });
  expect(response.status).toBe(201);
  return response.body;
}

async function sendAndWait(
  device: TestDevice,
  relativeTimes: number[],
): Promise<Array<{ absolute_timestamp: string }>> {
  const put = await api('PUT', '/api/iot', {
    token: device.token,
    body: relativeTimes.map((relative_time) => ({ data: { relative_time, freeform: 'x' } })),
  });
  expect(put.status).toBe(202);
  return eventually(async () => {
    const rows = await api<{ data: Array<{ absolute_timestamp: string }> }>('POST', '/api/iot', {
      token: device.token,
    });
    expect(rows.body.data.length).toBeGreaterThanOrEqual(relativeTimes.length);
    return rows.body.data;
  });
}

const deviceSeries = (deviceId: string) =>
  api<Series<DeviceRollup>>('GET', `/api/devices/${deviceId}/stats?minutes=30`, { token: adminToken() });

describe('rollup-stats through the stack', () => {
  it('rolls up a device with readings and one without; a rerun of the interval changes nothing', async () => {
    const busy = await register();
    const idle = await register();
    const rows = await sendAndWait(busy, [3, 17, 9]);
    // The interval holding the arrival ("YYYY-MM-DD HH:MM:SS", UTC).
    const arrival = Date.parse(`${rows[0]?.absolute_timestamp.replace(' ', 'T')}Z`);
    const start = Math.floor(arrival / 60_000) * 60_000;
    const intervalEnd = new Date(start + 60_000).toISOString();

    type Result = {
      global: { intervalStart: string; readingsStored: number; devices: number };
      firstRun: boolean;
    };
    const first = await runJob<Result>('rollup-stats', { intervalEnd });
    const second = await runJob<Result>('rollup-stats', { intervalEnd });
    expect(first.global.intervalStart).toBe(new Date(start).toISOString());
    expect(second.firstRun).toBe(false);
    expect(second.global.readingsStored).toBeGreaterThanOrEqual(3);
    expect(second.global.devices).toBeGreaterThanOrEqual(2);

    const busySeries = await deviceSeries(busy.deviceId);
    expect(busySeries.status).toBe(200);
    const ofInterval = busySeries.body.data.filter(
      (item) => item.intervalStart === new Date(start).toISOString(),
    );
    expect(ofInterval).toEqual([
      {
        deviceId: busy.deviceId,
        intervalStart: new Date(start).toISOString(),
        intervalEnd,
        readingsStored: 3,
        total: 3,
        lastSeenAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        maxRelativeTime: 17,
      },
    ]);
    // A device that never sent anything: its rollup (the first one; quiet intervals after it are not
    // stored) says so.
    const idleSeries = await deviceSeries(idle.deviceId);
    expect(idleSeries.body.data.length).toBeGreaterThanOrEqual(1);
    for (const item of idleSeries.body.data) {
      expect(item).toMatchObject({
        deviceId: idle.deviceId,
        readingsStored: 0,
        total: 0,
        lastSeenAt: null,
        maxRelativeTime: null,
      });
    }

    const global = await api<Series<{ intervalStart: string; readingsStored: number }>>(
      'GET',
      '/api/stats?minutes=30',
      {
        token: adminToken(),
      },
    );
    expect(global.body.series).toBe('global');
    const globalOfInterval = global.body.data.filter(
      (item) => item.intervalStart === new Date(start).toISOString(),
    );
    expect(globalOfInterval).toHaveLength(1);
    expect(globalOfInterval[0]?.readingsStored).toBe(second.global.readingsStored);
  });
});

describe('detect-silent-devices through the stack', () => {
  it('alerts when a device falls silent and when it reports again, once each', async () => {
    const interval = 8;
    const quiet = await register(interval);
    const chatty = await register(3600);
    await sendAndWait(chatty, [1]);
    const ours = (deviceId: string) => alertsFile().filter((alert) => alert.deviceId === deviceId);

    await sleep(Date.parse(quiet.createdAt) + interval * 1000 + 500 - Date.now());
    const report = await runJob<{ checked: number; silent: number }>('detect-silent-devices');
    expect(report.checked).toBeGreaterThanOrEqual(2);
    expect(report.silent).toBeGreaterThanOrEqual(1);
    expect(ours(quiet.deviceId)).toMatchObject([
      { type: 'device.silent', lastSeenAt: null, expectedIntervalSeconds: interval, stage: 'local' },
    ]);
    const device = await api<{ reportingState?: string }>('GET', `/api/devices/${quiet.deviceId}`, {
      token: adminToken(),
    });
    expect(device.body.reportingState).toBe('silent');

    await runJob('detect-silent-devices');
    expect(ours(quiet.deviceId)).toHaveLength(1);

    await sendAndWait(quiet, [5]);
    await runJob('detect-silent-devices');
    expect(ours(quiet.deviceId).map((alert) => alert.type)).toEqual(['device.silent', 'device.recovered']);
    expect(ours(quiet.deviceId)[1]?.lastSeenAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    await runJob('detect-silent-devices');
    expect(ours(quiet.deviceId)).toHaveLength(2);
    const recovered = await api<{ reportingState?: string }>('GET', `/api/devices/${quiet.deviceId}`, {
      token: adminToken(),
    });
    expect(recovered.body.reportingState).toBe('reporting');
    // A device within its interval is never alerted.
    expect(ours(chatty.deviceId)).toEqual([]);
  }, 60_000);
});

describe('redrive-dlq through the stack', () => {
  it('moves a dead-lettered message back to the readings queue, where the consumer stores it', async () => {
    const device = await register();
    const message = await sealedMessage(device.deviceId, 2, 100);
    const correlationId = `redrive-${randomBytes(6).toString('hex')}`;
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: process.env.SENSORCLOUD_READINGS_DLQ_URL,
        MessageBody: JSON.stringify(message),
        MessageAttributes: { correlationId: { DataType: 'String', StringValue: correlationId } },
      }),
    );
    const stored = async () =>
      (await api<{ data: unknown[] }>('POST', '/api/iot', { token: device.token })).body.data.length === 2;
    // Other tests hold dead letters too (and peeking hides them for a while): run until ours moved.
    // Five per run behind a few dozen others takes several runs, each slower on a contended machine.
    const reports: Array<{ moved: number; failed: number; remaining: number }> = [];
    const deadline = Date.now() + 100_000;
    let done = false;
    while (!done && Date.now() < deadline) {
      reports.push(await runJob('redrive-dlq', { maxMessages: 5 }));
      const until = Date.now() + 6_000;
      while (!done && Date.now() < until) {
        done = await stored();
        if (!done) await sleep(500);
      }
    }
    expect(done).toBe(true);
    for (const report of reports) {
      expect(report.moved).toBeLessThanOrEqual(5);
      expect(report.failed).toBe(0);
      expect(Number.isInteger(report.remaining) && report.remaining >= 0).toBe(true);
    }
    expect(reports.some((report) => report.moved >= 1)).toBe(true);
    // The correlation id travelled with it and the consumer logged it.
    await eventually(async () => {
      expect(readFileSync(testLogFile, 'utf8')).toContain(correlationId);
    });
  }, 120_000);
});
