import { dynamo } from '../../src/lib/aws/dynamo';
import { config } from '../../src/lib/config';
import { getDevice, publicDevice, registerDevice } from '../../src/lib/devices/devices';
import { checkClockSkew, recordClockSkew } from '../../src/lib/readings/clock-skew';
import { failedFor, injectFaults } from '../support/faults';

// The bookkeeping behind the device's measured clock, in-process against DynamoDB Local: how often
// the device item is written (the bound the README promises), and that a failed write changes no
// answer and loses no count that a later write can carry.

const HOUR = 3_600_000;
const micros = (ms: number) => ms * 1000;

/** Counts the device-clock UpdateItems that reach DynamoDB for one device (optionally failing them). */
function watchClockWrites(deviceId: string, fail = 0) {
  const isClockWrite = (input: Record<string, unknown>) =>
    (input.Key as { deviceId?: string } | undefined)?.deviceId === deviceId &&
    String(input.UpdateExpression).includes('clockOffsetMs');
  return injectFaults(dynamo, [
    {
      command: 'UpdateItemCommand',
      when: isClockWrite,
      times: fail,
      error: failedFor('InternalServerError', 500),
    },
    {
      command: 'UpdateItemCommand',
      when: isClockWrite,
      times: Number.POSITIVE_INFINITY,
      output: (output) => output,
    },
  ]);
}

/** One ingest request's clock bookkeeping, as acceptReadings does it around the enqueue. */
async function ingest(deviceId: string, offsetsMs: number[], now = Date.now()) {
  const result = await checkClockSkew(
    deviceId,
    offsetsMs.map((offset) => micros(now + offset)),
    now,
  );
  await recordClockSkew(deviceId, result);
  return result;
}

describe('device clock bookkeeping', () => {
  afterEach(() => jest.restoreAllMocks());

  it('writes once for a steady clock, again when it moves materially or the minute is up', async () => {
    const { deviceId } = (await registerDevice({})).device;
    const writes = watchClockWrites(deviceId);
    try {
      for (let i = 0; i < 5; i += 1) expect((await ingest(deviceId, [HOUR])).flagged).toEqual([0]);
      expect(writes.seen[1]).toBe(1);
      // Within CLOCK_OFFSET_CHANGE_MS of the stored offset: still no write.
      await ingest(deviceId, [HOUR + config.CLOCK_OFFSET_CHANGE_MS / 2]);
      expect(writes.seen[1]).toBe(1);
      // Moved by more: written at once, carrying the counts held back.
      await ingest(deviceId, [HOUR + 5 * config.CLOCK_OFFSET_CHANGE_MS]);
      expect(writes.seen[1]).toBe(2);
      expect(publicDevice(await getDevice(deviceId)).clock).toMatchObject({
        flaggedReadings: 7,
        rejectedRequests: 0,
      });
      // The same offset once CLOCK_OFFSET_WRITE_SECONDS have passed: written again (a fresh measuredAt).
      const later = Date.now() + config.CLOCK_OFFSET_WRITE_SECONDS * 1000 + 1_000;
      jest.spyOn(Date, 'now').mockReturnValue(later);
      await ingest(deviceId, [HOUR + 5 * config.CLOCK_OFFSET_CHANGE_MS], later);
      expect(writes.seen[1]).toBe(3);
      expect(publicDevice(await getDevice(deviceId)).clock?.measuredAt).toBe(new Date(later).toISOString());
    } finally {
      writes.remove();
    }
  });

  it('writes nothing for readings without a time (unset clocks, counters)', async () => {
    const { deviceId } = (await registerDevice({})).device;
    const writes = watchClockWrites(deviceId);
    try {
      expect(await ingest(deviceId, [])).toEqual({ windowSeconds: 300, offsetMs: undefined, flagged: [] });
      const result = await checkClockSkew(deviceId, [-1, 0, 42], Date.now());
      await recordClockSkew(deviceId, result);
      expect(writes.seen[1]).toBe(0);
      expect(publicDevice(await getDevice(deviceId)).clock).toBeUndefined();
    } finally {
      writes.remove();
    }
  });

  it('survives a failed write: no error to the caller, and the next write carries the count', async () => {
    const { deviceId } = (await registerDevice({})).device;
    const writes = watchClockWrites(deviceId, 1);
    try {
      await expect(ingest(deviceId, [-HOUR, -HOUR])).resolves.toMatchObject({ flagged: [0, 1] });
      expect(writes.seen[0]).toBe(1);
      expect((await getDevice(deviceId)).clockSkewFlagged).toBeUndefined();
      await ingest(deviceId, [-HOUR]);
      expect(writes.seen[1]).toBe(1);
      expect(publicDevice(await getDevice(deviceId)).clock?.flaggedReadings).toBe(3);
    } finally {
      writes.remove();
    }
  });

  it('counts and measures a refused request before refusing it', async () => {
    const { deviceId } = (await registerDevice({ clockSkewAction: 'reject', clockSkewWindowSeconds: 60 }))
      .device;
    await expect(ingest(deviceId, [0, 0, 90_000])).rejects.toMatchObject({
      status: 400,
      details: {
        field: '[2].data.interrogator_time',
        offsetMs: 90_000,
        windowSeconds: 60,
        readingsOutside: 1,
      },
    });
    const clock = publicDevice(await getDevice(deviceId)).clock;
    expect(clock).toMatchObject({ offsetMs: 90_000, flaggedReadings: 0, rejectedRequests: 1 });
  });
});
