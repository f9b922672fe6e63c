import { randomBytes } from 'node:crypto';
import { ReceiveMessageCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { Handler } from 'aws-lambda';
import type { Alert, AlertPublisher } from '../../src/lib/alerts/alerts';
import type { SilentDevicesReport } from '../../src/lib/devices/reporting';
import type { RedriveReport } from '../../src/lib/queues/redrive';
import type { RollupResult } from '../../src/lib/stats/rollup';
import { type Isolated, isolate } from '../support/isolated';
import { alertsFile, scheduledEvent } from '../support/jobs';
import { lambdaContext } from '../support/lambda-context';
import { peekAll, sqs } from '../support/sqs';

// The jobs against tables and queues of their own (on the run's emulators), so that every count is
// known exactly: empty tables, an empty dead-letter queue, a device with no readings, reruns,
// overlapping runs, an alert sink that fails.

type Modules = {
  rollup: Handler;
  detect: Handler;
  redrive: Handler;
  registerDevice: typeof import('../../src/lib/devices/devices').registerDevice;
  getDevice: typeof import('../../src/lib/devices/devices').getDevice;
  storeMessages: typeof import('../../src/lib/readings/store').storeMessages;
  detectSilentDevices: typeof import('../../src/lib/devices/reporting').detectSilentDevices;
  recordImageOutcome: typeof import('../../src/lib/stats/image-events').recordImageOutcome;
  statsSeries: typeof import('../../src/lib/stats/series').statsSeries;
};

let isolated: Isolated;
let m: Modules;
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  isolated = await isolate();
  for (const [name, value] of Object.entries(isolated.env)) {
    saved[name] = process.env[name];
    process.env[name] = value;
  }
  // Loaded only now, so that the application's config reads the isolated names.
  const devices = await import('../../src/lib/devices/devices');
  m = {
    rollup: (await import('../../src/handlers/rollup-stats')).handler as Handler,
    detect: (await import('../../src/handlers/detect-silent-devices')).handler as Handler,
    redrive: (await import('../../src/handlers/redrive-dlq')).handler as Handler,
    registerDevice: devices.registerDevice,
    getDevice: devices.getDevice,
    storeMessages: (await import('../../src/lib/readings/store')).storeMessages,
    detectSilentDevices: (await import('../../src/lib/devices/reporting')).detectSilentDevices,
    recordImageOutcome: (await import('../../src/lib/stats/image-events')).recordImageOutcome,
    statsSeries: (await import('../../src/lib/stats/series')).statsSeries,
  };
}, 60_000);

afterAll(async () => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await isolated?.dispose();
});

const invoke = <T>(handler: Handler, detail: Record<string, unknown> = {}, time?: Date) =>
  handler(scheduledEvent(detail, time), lambdaContext('test', 60_000), () => undefined) as Promise<T>;

const MINUTE = 60_000;
/** A whole minute well in the past, so no scheduled run of the shared stack is involved. */
const baseMinute = Math.floor(Date.now() / MINUTE) * MINUTE - 30 * MINUTE;
const iso = (ms: number) => new Date(ms).toISOString();

/** Stores a readings message as the consumer would, arrived at `arrivedAt`. */
async function store(deviceId: string, relativeTimes: number[], arrivedAt: number): Promise<void> {
  const batchId = `b${randomBytes(6).toString('hex')}`;
  const message = {
    v: 1,
    deviceId,
    batchId,
    seq: 0,
    arrivedAt,
    keyId: 'k-test',
    readings: relativeTimes.map((rt, index) => ({
      id: `${batchId}-${index}`,
      rt,
      it: rt,
      iv: 'AAAA',
      ct: 'AAAA',
    })),
  };
  const failed = await m.storeMessages(
    [{ messageId: batchId, body: JSON.stringify(message) }],
    Date.now() + 10_000,
  );
  expect(failed).toEqual([]);
}

describe('jobs on empty tables and an empty dead-letter queue', () => {
  it('rolls up nothing into zeros, finds no silent device, moves nothing', async () => {
    const rollup = await invoke<RollupResult>(m.rollup, { intervalEnd: iso(baseMinute) });
    expect(rollup.devices).toEqual([]);
    expect(rollup.global).toEqual({
      intervalStart: iso(baseMinute - MINUTE),
      intervalEnd: iso(baseMinute),
      intervalSeconds: 60,
      devices: 0,
      devicesReporting: 0,
      silentDevices: 0,
      readingsStored: 0,
      ingestRatePerMinute: 0,
      imagesProcessed: 0,
      imagesRejected: 0,
      queueVisible: 0,
      queueInFlight: 0,
      oldestMessageAgeSeconds: null,
      dlqDepth: 0,
      cacheHits: 0,
      cacheMisses: 0,
      cacheEvictions: 0,
      cacheItems: 0,
      cacheBytes: 0,
    });
    expect(rollup.firstRun).toBe(true);

    expect(await invoke<SilentDevicesReport>(m.detect)).toEqual({
      checked: 0,
      silent: 0,
      becameSilent: 0,
      recovered: 0,
      alertFailures: 0,
    });
    expect(await invoke<RedriveReport>(m.redrive)).toEqual({ moved: 0, failed: 0, remaining: 0 });
    expect(alertsFile(isolated.env.LOCAL_ALERTS_FILE)).toEqual([]);
  });

  it('rejects on-demand options it does not know, naming them', async () => {
    await expect(invoke(m.redrive, { maxMessages: 0 })).rejects.toThrow(/maxMessages/);
    await expect(invoke(m.rollup, { intervalEnd: 'yesterday' })).rejects.toThrow(/intervalEnd/);
    await expect(invoke(m.detect, { everything: true })).rejects.toThrow(/detail/);
  });
});

describe('rollup-stats', () => {
  it('counts per device and globally, exactly, and a rerun of an interval counts nothing twice', async () => {
    const busy = await m.registerDevice({});
    const idle = await m.registerDevice({});
    const first = baseMinute + 5 * MINUTE;
    const second = first + MINUTE;
    await store(busy.device.deviceId, [10, 11], first + 1_000);
    await store(busy.device.deviceId, [5], first + 59_999);
    await store(busy.device.deviceId, [40, 41, 42], second + 20_000);
    // An arrival exactly at the interval's end belongs to the next interval.
    await store(busy.device.deviceId, [7], second + MINUTE);
    await m.recordImageOutcome('uploads/a.jpg', 'processed', first + 5_000);
    await m.recordImageOutcome('uploads/b.jpg', 'rejected', first + 6_000);
    // The same image reported again (a retried event) is still one image.
    await m.recordImageOutcome('uploads/a.jpg', 'processed', first + 7_000);

    const run = (end: number) => invoke<RollupResult>(m.rollup, { intervalEnd: iso(end) });
    const one = await run(first + MINUTE);
    const deviceOf = (result: RollupResult, deviceId: string) =>
      result.devices.find((device) => device.deviceId === deviceId);
    expect(deviceOf(one, busy.device.deviceId)).toEqual({
      deviceId: busy.device.deviceId,
      intervalStart: iso(first),
      intervalEnd: iso(first + MINUTE),
      readingsStored: 3,
      total: 3,
      lastSeenAt: iso(first + 59_999),
      // A snapshot of what is stored now.
      maxRelativeTime: 42,
    });
    expect(deviceOf(one, idle.device.deviceId)).toEqual({
      deviceId: idle.device.deviceId,
      intervalStart: iso(first),
      intervalEnd: iso(first + MINUTE),
      readingsStored: 0,
      total: 0,
      lastSeenAt: null,
      maxRelativeTime: null,
    });
    expect(one.global).toMatchObject({
      devices: 2,
      devicesReporting: 1,
      readingsStored: 3,
      ingestRatePerMinute: 3,
      imagesProcessed: 1,
      imagesRejected: 1,
    });

    const two = await run(second + MINUTE);
    expect(deviceOf(two, busy.device.deviceId)).toMatchObject({ readingsStored: 3, total: 6 });
    expect(two.global.readingsStored).toBe(3);

    // Again, both intervals: the same rollups, stored once each.
    const oneAgain = await run(first + MINUTE);
    const twoAgain = await run(second + MINUTE);
    expect(oneAgain).toEqual({ ...one, firstRun: false });
    expect(twoAgain).toEqual({ ...two, firstRun: false });

    const minutes = Math.ceil((Date.now() - first) / MINUTE) + 1;
    const series = await m.statsSeries({ kind: 'device', deviceId: busy.device.deviceId }, minutes);
    expect(
      series.data.map((item) => [item.intervalStart, item.readingsStored, 'total' in item && item.total]),
    ).toEqual([
      [iso(first), 3, 3],
      [iso(second), 3, 6],
    ]);
    const global = await m.statsSeries({ kind: 'global' }, minutes);
    expect(global.data.filter((item) => item.intervalStart === iso(first))).toHaveLength(1);

    // A later interval with nothing new carries the total and the last arrival on.
    const three = await run(second + 2 * MINUTE);
    expect(deviceOf(three, busy.device.deviceId)).toMatchObject({
      readingsStored: 1,
      total: 7,
      lastSeenAt: iso(second + MINUTE),
    });
    const four = await run(second + 3 * MINUTE);
    expect(deviceOf(four, busy.device.deviceId)).toMatchObject({
      readingsStored: 0,
      total: 7,
      lastSeenAt: iso(second + MINUTE),
      maxRelativeTime: 42,
    });

    // Quiet intervals are not stored (until the hourly keep-alive); the first rollup of a device is.
    const stored = async (deviceId: string) =>
      (await m.statsSeries({ kind: 'device', deviceId }, minutes + 5)).data.map((item) => item.intervalStart);
    expect(await stored(busy.device.deviceId)).toEqual([iso(first), iso(second), iso(second + MINUTE)]);
    expect(await stored(idle.device.deviceId)).toEqual([iso(first)]);
    // An hour after its last stored rollup, a quiet device is stored again.
    const hourLater = await run(first + 62 * MINUTE);
    expect(deviceOf(hourLater, idle.device.deviceId)).toMatchObject({ readingsStored: 0, total: 0 });
    expect(await stored(idle.device.deviceId)).toEqual([iso(first), iso(first + 61 * MINUTE)]);
  });

  it('rolls up, when scheduled, the last whole interval that ended before the settle time', async () => {
    const scheduledAt = new Date(baseMinute + 20 * MINUTE + 10_000);
    const result = await invoke<RollupResult>(m.rollup, {}, scheduledAt);
    // Settle time 30 s: at hh:20:10 the interval hh:18–hh:19 is the latest one complete by hh:19:40.
    expect(result.global.intervalStart).toBe(iso(baseMinute + 18 * MINUTE));
    expect(result.global.intervalEnd).toBe(iso(baseMinute + 19 * MINUTE));
  });
});

describe('detect-silent-devices', () => {
  const capture = () => {
    const published: Alert[] = [];
    const publisher: AlertPublisher = {
      publish: async (alert) => {
        published.push(alert);
      },
    };
    return { published, publisher };
  };

  it('alerts once per transition, whatever the number of runs or their overlap', async () => {
    const { device } = await m.registerDevice({ expectedIntervalSeconds: 60 });
    const created = Date.parse(device.createdAt);
    const { published, publisher } = capture();
    const ours = () => published.filter((alert) => alert.deviceId === device.deviceId);

    // Within its interval of registration: reporting, no alert.
    await m.detectSilentDevices(created + 30_000, publisher);
    expect(ours()).toEqual([]);

    // Silent: two overlapping runs, one alert.
    const later = created + 61_000;
    await Promise.all([m.detectSilentDevices(later, publisher), m.detectSilentDevices(later, publisher)]);
    expect(ours()).toEqual([
      {
        type: 'device.silent',
        deviceId: device.deviceId,
        at: iso(later),
        lastSeenAt: null,
        expectedIntervalSeconds: 60,
      },
    ]);
    expect((await m.getDevice(device.deviceId)).reportingState).toBe('silent');
    await m.detectSilentDevices(later + 1_000, publisher);
    expect(ours()).toHaveLength(1);

    // Reporting again: one recovery alert.
    await store(device.deviceId, [1], later + 2_000);
    await Promise.all([
      m.detectSilentDevices(later + 3_000, publisher),
      m.detectSilentDevices(later + 3_000, publisher),
    ]);
    expect(ours().map((alert) => alert.type)).toEqual(['device.silent', 'device.recovered']);
    expect(ours()[1]).toMatchObject({ lastSeenAt: iso(later + 2_000) });
    expect((await m.getDevice(device.deviceId)).reportingState).toBe('reporting');
    await m.detectSilentDevices(later + 4_000, publisher);
    expect(ours()).toHaveLength(2);
  });

  it('uses the default interval for devices without their own', async () => {
    const { device } = await m.registerDevice({});
    const created = Date.parse(device.createdAt);
    const { published, publisher } = capture();
    await m.detectSilentDevices(created + 3_599_000, publisher);
    expect(published.filter((alert) => alert.deviceId === device.deviceId)).toEqual([]);
    await m.detectSilentDevices(created + 3_601_000, publisher);
    expect(published.filter((alert) => alert.deviceId === device.deviceId)).toMatchObject([
      { type: 'device.silent', expectedIntervalSeconds: 3600 },
    ]);
  });

  it('undoes a transition whose alert could not be sent, fails the run, and alerts on the next run', async () => {
    const { device } = await m.registerDevice({ expectedIntervalSeconds: 1 });
    const at = Date.parse(device.createdAt) + 5_000;
    const failing: AlertPublisher = {
      publish: async () => {
        throw Object.assign(new Error('topic unavailable'), { name: 'InternalErrorException' });
      },
    };
    await expect(m.detectSilentDevices(at, failing)).rejects.toThrow(/could not be published/);
    expect((await m.getDevice(device.deviceId)).reportingState).toBe('reporting');
    const { published, publisher } = capture();
    await m.detectSilentDevices(at + 1_000, publisher);
    expect(published.filter((alert) => alert.deviceId === device.deviceId)).toHaveLength(1);
  });

  it('publishes through the handler to the offline alerts file', async () => {
    const { device } = await m.registerDevice({ expectedIntervalSeconds: 1 });
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const report = await invoke<SilentDevicesReport>(m.detect);
    expect(report.becameSilent).toBeGreaterThanOrEqual(1);
    const lines = alertsFile(isolated.env.LOCAL_ALERTS_FILE).filter(
      (alert) => alert.deviceId === device.deviceId,
    );
    expect(lines).toMatchObject([
      { type: 'device.silent', lastSeenAt: null, expectedIntervalSeconds: 1, stage: 'local' },
    ]);
    expect(lines[0]?.subject).toBe(`sensorcloud local: device ${device.deviceId} is silent`);
  });
});

describe('redrive-dlq', () => {
  it('moves at most the bound per run, reports what remains, and keeps bodies and attributes', async () => {
    const bodies = Array.from(
      { length: 5 },
      (_, index) => `{"dead":${index},"r":"${randomBytes(4).toString('hex')}"}`,
    );
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: isolated.env.READINGS_DLQ_URL,
        Entries: bodies.map((body, index) => ({
          Id: String(index),
          MessageBody: body,
          MessageAttributes: { correlationId: { DataType: 'String', StringValue: `req-${index}` } },
        })),
      }),
    );
    expect(await invoke<RedriveReport>(m.redrive, { maxMessages: 2 })).toEqual({
      moved: 2,
      failed: 0,
      remaining: 3,
    });
    expect(await invoke<RedriveReport>(m.redrive, { maxMessages: 2 })).toEqual({
      moved: 2,
      failed: 0,
      remaining: 1,
    });
    expect(await invoke<RedriveReport>(m.redrive, { maxMessages: 2 })).toEqual({
      moved: 1,
      failed: 0,
      remaining: 0,
    });
    expect(await invoke<RedriveReport>(m.redrive)).toEqual({ moved: 0, failed: 0, remaining: 0 });

    const moved = [];
    for (;;) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: isolated.env.READINGS_QUEUE_URL,
          MaxNumberOfMessages: 10,
          MessageAttributeNames: ['All'],
        }),
      );
      if (Messages.length === 0) break;
      moved.push(...Messages);
    }
    expect(moved.map((message) => message.Body).sort()).toEqual([...bodies].sort());
    for (const message of moved) {
      const index = bodies.indexOf(message.Body ?? '');
      expect(message.MessageAttributes?.correlationId?.StringValue).toBe(`req-${index}`);
    }
    expect(await peekAll(isolated.env.READINGS_DLQ_URL as string)).toEqual([]);
  });
});

describe('rollup-stats after the stack was down', () => {
  type Scheduled = RollupResult & { caughtUp: string[]; stillMissed: number };
  /** A scheduled run whose latest complete interval ends at `end` (40 s later: past the settle time). */
  const scheduledRun = (end: number) => invoke<Scheduled>(m.rollup, {}, new Date(end + 40_000));
  // Hours before every other rollup of this file, so that only this test's rollups are before them.
  const base = Math.floor(Date.now() / MINUTE) * MINUTE - 20 * 60 * MINUTE;
  const globalSeries = async (from: number, to: number) =>
    (await m.statsSeries({ kind: 'global' }, 50 * 60)).data
      .filter((item) => Date.parse(item.intervalStart) >= from && Date.parse(item.intervalStart) < to)
      .map((item) => [item.intervalStart, item.readingsStored]);

  it('rolls up the intervals missed while nothing ran, once each, and a rerun counts nothing twice', async () => {
    const { device } = await m.registerDevice({});
    await store(device.deviceId, [1, 2], base + 1_000);
    // While "down": readings that arrived (stored by the consumer on restart, say) in missed intervals.
    await store(device.deviceId, [3], base + 2 * MINUTE + 5_000);
    await store(device.deviceId, [4, 5, 6], base + 5 * MINUTE + 5_000);

    const before = await scheduledRun(base + MINUTE);
    expect(before.global.intervalStart).toBe(iso(base));
    expect(before.caughtUp).toEqual([]);

    // Next run eight minutes later: the current interval first, then the seven missed ones.
    const after = await scheduledRun(base + 9 * MINUTE);
    expect(after.global.intervalStart).toBe(iso(base + 8 * MINUTE));
    expect(after.caughtUp).toEqual([7, 6, 5, 4, 3, 2, 1].map((k) => iso(base + k * MINUTE)));
    expect(after.stillMissed).toBe(0);
    const expected = [
      [iso(base), 2],
      [iso(base + MINUTE), 0],
      [iso(base + 2 * MINUTE), 1],
      [iso(base + 3 * MINUTE), 0],
      [iso(base + 4 * MINUTE), 0],
      [iso(base + 5 * MINUTE), 3],
      [iso(base + 6 * MINUTE), 0],
      [iso(base + 7 * MINUTE), 0],
      [iso(base + 8 * MINUTE), 0],
    ];
    expect(await globalSeries(base, base + 9 * MINUTE)).toEqual(expected);
    const devices = await m.statsSeries({ kind: 'device', deviceId: device.deviceId }, 21 * 60);
    expect(devices.data.map((item) => [item.intervalStart, 'total' in item && item.total])).toEqual([
      [iso(base), 2],
      [iso(base + 2 * MINUTE), 3],
      [iso(base + 5 * MINUTE), 6],
    ]);

    // The same run again (EventBridge retries, overlapping runs): nothing left to catch up, no double count.
    const again = await scheduledRun(base + 9 * MINUTE);
    expect(again.caughtUp).toEqual([]);
    expect(again.firstRun).toBe(false);
    expect(await globalSeries(base, base + 9 * MINUTE)).toEqual(expected);
  });

  it('catches up at most 10 missed intervals per run, newest first, the rest on later runs', async () => {
    // More than the 24 h catch-up window before the other test's intervals: neither sees the other's.
    const start = base - 26 * 60 * MINUTE;
    await scheduledRun(start + MINUTE);
    const runs: Scheduled[] = [];
    for (let run = 0; run < 3; run += 1) runs.push(await scheduledRun(start + 26 * MINUTE));
    // 24 missed intervals (start+1 … start+24) before the current one (start+25).
    expect(runs.map((run) => [run.caughtUp.length, run.stillMissed])).toEqual([
      [10, 14],
      [10, 4],
      [4, 0],
    ]);
    expect(runs[0]?.caughtUp[0]).toBe(iso(start + 24 * MINUTE));
    expect(runs[2]?.caughtUp.at(-1)).toBe(iso(start + MINUTE));
    expect((await globalSeries(start, start + 26 * MINUTE)).length).toBe(26);
  });
});
