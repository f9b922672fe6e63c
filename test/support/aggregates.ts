import { randomBytes } from 'node:crypto';
import { sealPartials } from '../../src/lib/aggregates/partials';
import { currentDataKey } from '../../src/lib/crypto/data-keys';
import { sealChunks } from '../../src/lib/readings/chunks';
import { type ChunkedMessage, chunkedMessage } from '../../src/lib/readings/messages';
import { rowKey } from '../../src/lib/readings/rows';

// Random readings with numeric fields at known dot paths, and what their aggregates must be,
// computed here from the raw values (independently of src/lib/aggregates).

export const FIELDS = ['temp', 'env.humidity', 'env.deep.pressure'] as const;

export interface RawReading {
  /** Epoch ms of interrogator_time (a plausible time, so it is the reading's time). */
  t: number;
  freeform: Record<string, unknown>;
  password?: string;
}

const random = (min: number, max: number) => min + Math.random() * (max - min);

/** A freeform with some of FIELDS (numbers, some integers, some negative) and things that are not numbers. */
export function randomFreeform(): Record<string, unknown> {
  const freeform: Record<string, unknown> = { label: 'x', ok: true, list: [1, 2, 3] };
  if (Math.random() < 0.9) freeform.temp = Math.round(random(-40, 60) * 100) / 100;
  const env: Record<string, unknown> = { note: '12' };
  if (Math.random() < 0.7) env.humidity = Math.floor(random(0, 100));
  if (Math.random() < 0.6) env.deep = { pressure: random(900, 1100), text: 'hPa' };
  freeform.env = env;
  return freeform;
}

export const valueAt = (freeform: Record<string, unknown>, path: string): number | undefined => {
  let value: unknown = freeform;
  for (const key of path.split('.')) value = (value as Record<string, unknown> | undefined)?.[key];
  return typeof value === 'number' ? value : undefined;
};

export interface ExpectedBucket {
  t: string;
  count: number;
  min: number;
  max: number;
  sum: number;
}

/** Buckets of `stepMs` (aligned to the epoch) over [from, to) rounded out to whole steps; password rows excluded. */
export function expectedBuckets(
  readings: readonly RawReading[],
  field: string,
  from: number,
  to: number,
  stepMs: number,
): ExpectedBucket[] {
  const start = from - (from % stepMs);
  const end = to % stepMs === 0 ? to : to - (to % stepMs) + stepMs;
  const buckets = new Map<number, ExpectedBucket>();
  for (const reading of readings) {
    if (reading.password) continue;
    const value = valueAt(reading.freeform, field);
    if (value === undefined || reading.t < start || reading.t >= end) continue;
    const bucket = reading.t - (reading.t % stepMs);
    const current = buckets.get(bucket);
    if (!current)
      buckets.set(bucket, {
        t: new Date(bucket).toISOString(),
        count: 1,
        min: value,
        max: value,
        sum: value,
      });
    else {
      current.count += 1;
      current.min = Math.min(current.min, value);
      current.max = Math.max(current.max, value);
      current.sum += value;
    }
  }
  return [...buckets.keys()].sort((a, b) => a - b).map((bucket) => buckets.get(bucket) as ExpectedBucket);
}

/** Compares an answer's buckets with expected ones (sums and averages to float precision). */
export function expectSameBuckets(
  actual: Array<ExpectedBucket & { avg: number }>,
  expected: readonly ExpectedBucket[],
): void {
  expect(actual.map(({ t, count, min, max }) => ({ t, count, min, max }))).toEqual(
    expected.map(({ t, count, min, max }) => ({ t, count, min, max })),
  );
  actual.forEach((bucket, index) => {
    const wanted = expected[index] as ExpectedBucket;
    expect(bucket.sum).toBeCloseTo(wanted.sum, 6);
    expect(bucket.avg).toBeCloseTo(wanted.sum / wanted.count, 6);
  });
}

/** A readings message as ingest builds it, aggregates included (readings with a password are left out of them). */
export async function aggregatedMessage(
  deviceId: string,
  readings: readonly RawReading[],
  { arrivedAt = Date.now() }: { arrivedAt?: number } = {},
): Promise<ChunkedMessage> {
  const { keyId, key } = await currentDataKey(readings.length);
  const batchId = `b${randomBytes(8).toString('hex')}`;
  const header = { deviceId, batchId, arrivedAt };
  const chunks = sealChunks(
    rowKey(key, deviceId),
    header,
    readings.map((reading, number) => ({
      number,
      relativeTime: number,
      interrogatorTime: reading.t * 1000,
      freeform: reading.freeform,
    })),
    0,
  );
  const agg = sealPartials(
    key,
    header,
    readings.map((reading) => ({
      interrogatorTime: reading.t * 1000,
      freeform: reading.freeform,
      password: reading.password,
    })),
  );
  const latest = { t: arrivedAt, rt: readings.length - 1, id: `${batchId}-${readings.length - 1}` };
  return chunkedMessage({ ...header, keyId, latest }, chunks, undefined, agg);
}
