import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { batchPut } from '../aws/batch';
import { dynamo } from '../aws/dynamo';
import { queryAll } from '../aws/paging';
import { config } from '../config';
import { activeDevices, type DeviceRecord } from '../devices/devices';
import { logger } from '../logger';
import { gauge, MetricName, MetricUnit, metrics } from '../observability';
import { arrivalsBetween, maxRelativeTime } from '../readings/activity';
import { cacheTotalsBetween } from './cache-events';
import { imageOutcomesBetween } from './image-events';
import { deviceSeries, GLOBAL_SERIES, retentionExpiry, timeKey } from './keys';
import { oldestMessageAgeSeconds, queueDepth } from './queues';

// The per-interval rollup. Counts are recomputed from the source data every time (never added to a
// running value), and items are keyed by their interval, so running the job twice for one interval
// rewrites the same rollup instead of counting twice. Gauges (queue depths, age) are snapshots: the
// first run's snapshot of an interval is kept.

export interface Interval {
  start: number;
  end: number;
}

export interface DeviceRollup {
  deviceId: string;
  intervalStart: string;
  intervalEnd: string;
  /** Readings that arrived in the interval (and are stored). */
  readingsStored: number;
  /** Readings stored up to the interval's end. */
  total: number;
  lastSeenAt: string | null;
  maxRelativeTime: number | null;
}

export interface GlobalRollup {
  intervalStart: string;
  intervalEnd: string;
  intervalSeconds: number;
  devices: number;
  devicesReporting: number;
  silentDevices: number;
  readingsStored: number;
  ingestRatePerMinute: number;
  imagesProcessed: number;
  imagesRejected: number;
  /** The image cache, summed over serving containers (items and bytes: as last reported). */
  cacheHits: number;
  cacheMisses: number;
  cacheEvictions: number;
  cacheItems: number;
  cacheBytes: number;
  queueVisible: number;
  queueInFlight: number;
  oldestMessageAgeSeconds: number | null;
  dlqDepth: number;
}

/** Device rollups a job result lists (the rest are in the stats table, and behind GET /api/…/stats). */
const LISTED_DEVICES = 100;

export interface RollupResult {
  global: GlobalRollup;
  /** The first LISTED_DEVICES device rollups, by device id. */
  devices: DeviceRollup[];
  /** False when this interval had been rolled up before (its gauges and metrics are the first run's). */
  firstRun: boolean;
}

/**
 * The interval a run at `at` rolls up: the latest whole interval that ended at least
 * STATS_SETTLE_SECONDS earlier (so messages still queued at its end are stored by then).
 */
export function intervalFor(at: number, explicitEnd?: number): Interval {
  const length = config.STATS_INTERVAL_SECONDS * 1000;
  const reference = explicitEnd ?? at - config.STATS_SETTLE_SECONDS * 1000;
  const end = Math.floor(reference / length) * length;
  return { start: end - length, end };
}

interface StoredDeviceRollup {
  intervalEndMs: number;
  total: number;
  lastSeenMs: number | null;
  maxRelativeTime: number | null;
}

/**
 * A quiet interval (nothing arrived) is stored only when the device's previous rollup is this old:
 * a fleet of idle devices costs one write per device per hour, not one per interval. Such intervals
 * are absent from the series; the next rollup carries the total on from the last stored one.
 */
const QUIET_KEEPALIVE_MS = 3_600_000;

/** The device's latest rollup of an interval that started before `start`. */
async function previousRollup(deviceId: string, start: number): Promise<StoredDeviceRollup | undefined> {
  const { Items = [] } = await dynamo.send(
    new QueryCommand({
      TableName: config.STATS_TABLE,
      KeyConditionExpression: 'series = :series AND #at < :start',
      ExpressionAttributeNames: { '#at': 'at', '#total': 'total' },
      ExpressionAttributeValues: { ':series': deviceSeries(deviceId), ':start': timeKey(start) },
      ProjectionExpression: 'intervalEndMs, #total, lastSeenMs, maxRelativeTime',
      ScanIndexForward: false,
      Limit: 1,
    }),
  );
  return Items[0] as StoredDeviceRollup | undefined;
}

type ComputedRollup = DeviceRollup & StoredDeviceRollup & { store: boolean };

async function rollupDevice(device: DeviceRecord, interval: Interval): Promise<ComputedRollup> {
  // The running total continues from the device's previous rollup; with none, from the beginning.
  const base = await previousRollup(device.deviceId, interval.start);
  const baseEnd = base ? Math.min(base.intervalEndMs, interval.start) : 0;
  const { arrivals } = await arrivalsBetween(device.deviceId, baseEnd, interval.end);
  let inInterval = 0;
  let sinceBase = 0;
  let lastSeenMs = base?.lastSeenMs ?? null;
  for (const arrival of arrivals) {
    if (arrival.at >= interval.start) inInterval += arrival.readings;
    if (!base || arrival.at >= base.intervalEndMs) sinceBase += arrival.readings;
    if (lastSeenMs === null || arrival.at > lastSeenMs) lastSeenMs = arrival.at;
  }
  const total = (base?.total ?? 0) + sinceBase;
  // Only new readings can change the largest relative time.
  const maxRelative =
    !base || sinceBase > 0
      ? total > 0
        ? await maxRelativeTime(device.deviceId)
        : null
      : base.maxRelativeTime;
  return {
    deviceId: device.deviceId,
    intervalStart: new Date(interval.start).toISOString(),
    intervalEnd: new Date(interval.end).toISOString(),
    readingsStored: inInterval,
    total,
    lastSeenAt: lastSeenMs === null ? null : new Date(lastSeenMs).toISOString(),
    maxRelativeTime: maxRelative ?? null,
    intervalEndMs: interval.end,
    lastSeenMs,
    store: !base || inInterval > 0 || interval.start - base.intervalEndMs >= QUIET_KEEPALIVE_MS,
  };
}

async function writeDeviceRollups(rollups: ComputedRollup[], interval: Interval) {
  const expiresAt = retentionExpiry(interval.end, config.STATS_RETENTION_DAYS);
  const writes = rollups
    .filter((rollup) => rollup.store)
    .map(({ store: _store, ...rollup }) => ({
      table: config.STATS_TABLE,
      item: { series: deviceSeries(rollup.deviceId), at: timeKey(interval.start), ...rollup, expiresAt },
      keyAttributes: ['series', 'at'],
    }));
  const unwritten = await batchPut(writes);
  // The job fails (and its next run recomputes the interval) rather than report a partial rollup.
  if (unwritten.length > 0) throw new Error(`${unwritten.length} device rollups could not be written`);
}

/** Writes the global rollup; counts are overwritten, gauges kept from the first run. */
async function writeGlobalRollup(
  rollup: GlobalRollup,
  interval: Interval,
): Promise<GlobalRollup & { firstRun: boolean }> {
  const counts = {
    intervalStart: rollup.intervalStart,
    intervalEnd: rollup.intervalEnd,
    intervalSeconds: rollup.intervalSeconds,
    devices: rollup.devices,
    devicesReporting: rollup.devicesReporting,
    readingsStored: rollup.readingsStored,
    ingestRatePerMinute: rollup.ingestRatePerMinute,
    imagesProcessed: rollup.imagesProcessed,
    imagesRejected: rollup.imagesRejected,
    cacheHits: rollup.cacheHits,
    cacheMisses: rollup.cacheMisses,
    cacheEvictions: rollup.cacheEvictions,
    cacheItems: rollup.cacheItems,
    cacheBytes: rollup.cacheBytes,
    expiresAt: retentionExpiry(interval.end, config.STATS_RETENTION_DAYS),
  };
  const gauges = {
    silentDevices: rollup.silentDevices,
    queueVisible: rollup.queueVisible,
    queueInFlight: rollup.queueInFlight,
    oldestMessageAgeSeconds: rollup.oldestMessageAgeSeconds,
    dlqDepth: rollup.dlqDepth,
  };
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const sets: string[] = [];
  Object.entries(counts).forEach(([name, value], index) => {
    names[`#c${index}`] = name;
    values[`:c${index}`] = value;
    sets.push(`#c${index} = :c${index}`);
  });
  Object.entries(gauges).forEach(([name, value], index) => {
    names[`#g${index}`] = name;
    values[`:g${index}`] = value;
    sets.push(`#g${index} = if_not_exists(#g${index}, :g${index})`);
  });
  const { Attributes } = await dynamo.send(
    new UpdateCommand({
      TableName: config.STATS_TABLE,
      Key: { series: GLOBAL_SERIES, at: timeKey(interval.start) },
      UpdateExpression: `SET ${sets.join(', ')}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ReturnValues: 'ALL_OLD',
    }),
  );
  const previous = Attributes as Partial<GlobalRollup> | undefined;
  if (!previous) return { ...rollup, firstRun: true };
  return {
    ...rollup,
    silentDevices: previous.silentDevices ?? rollup.silentDevices,
    queueVisible: previous.queueVisible ?? rollup.queueVisible,
    queueInFlight: previous.queueInFlight ?? rollup.queueInFlight,
    oldestMessageAgeSeconds:
      previous.oldestMessageAgeSeconds === undefined
        ? rollup.oldestMessageAgeSeconds
        : previous.oldestMessageAgeSeconds,
    dlqDepth: previous.dlqDepth ?? rollup.dlqDepth,
    firstRun: false,
  };
}

/** Emitted once per interval (first run only), stamped with the interval's end. */
function emitMetrics(rollup: GlobalRollup, interval: Interval): void {
  metrics.setTimestamp(interval.end);
  gauge(MetricName.IngestedReadings, rollup.readingsStored);
  gauge(MetricName.QueueDepth, rollup.queueVisible);
  if (rollup.oldestMessageAgeSeconds !== null)
    gauge(MetricName.QueueOldestMessageAge, rollup.oldestMessageAgeSeconds, MetricUnit.Seconds);
  gauge(MetricName.DlqDepth, rollup.dlqDepth);
  gauge(MetricName.SilentDevices, rollup.silentDevices);
}

const DEVICE_CONCURRENCY = 16;

/** Rolls up one interval: every active device, then the global figures. */
export async function rollupStats(interval: Interval, observedAt: Date): Promise<RollupResult> {
  const devices: DeviceRecord[] = [];
  for await (const device of activeDevices()) devices.push(device);

  const rollups: ComputedRollup[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(DEVICE_CONCURRENCY, devices.length) }, async () => {
      while (next < devices.length) {
        const device = devices[next++] as DeviceRecord;
        rollups.push(await rollupDevice(device, interval));
      }
    }),
  );
  rollups.sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0));
  await writeDeviceRollups(rollups, interval);

  const [queue, dlq, oldestAge, images, cacheTotals] = await Promise.all([
    queueDepth(config.READINGS_QUEUE_URL),
    queueDepth(config.READINGS_DLQ_URL),
    oldestMessageAgeSeconds(config.READINGS_QUEUE_URL, observedAt),
    imageOutcomesBetween(interval.start, interval.end),
    cacheTotalsBetween(interval.start, interval.end),
  ]);
  const readingsStored = rollups.reduce((sum, rollup) => sum + rollup.readingsStored, 0);
  const minutes = config.STATS_INTERVAL_SECONDS / 60;
  const computed: GlobalRollup = {
    intervalStart: new Date(interval.start).toISOString(),
    intervalEnd: new Date(interval.end).toISOString(),
    intervalSeconds: config.STATS_INTERVAL_SECONDS,
    devices: devices.length,
    devicesReporting: rollups.filter((rollup) => rollup.readingsStored > 0).length,
    silentDevices: devices.filter((device) => device.reportingState === 'silent').length,
    readingsStored,
    ingestRatePerMinute: Math.round((readingsStored / minutes) * 100) / 100,
    imagesProcessed: images.processed,
    imagesRejected: images.rejected,
    ...cacheTotals,
    queueVisible: queue.visible,
    queueInFlight: queue.inFlight,
    oldestMessageAgeSeconds: oldestAge,
    dlqDepth: dlq.visible + dlq.inFlight,
  };
  const { firstRun, ...global } = await writeGlobalRollup(computed, interval);
  if (firstRun) emitMetrics(global, interval);
  logger.info('stats rolled up', {
    intervalStart: global.intervalStart,
    devices: global.devices,
    readingsStored: global.readingsStored,
    firstRun,
  });
  return {
    global,
    devices: rollups
      .slice(0, LISTED_DEVICES)
      .map(({ intervalEndMs: _end, lastSeenMs: _seen, store: _store, ...rollup }) => rollup),
    firstRun,
  };
}

/** Missed intervals one scheduled run catches up on at most, and the time it may spend on them. */
const CATCH_UP_PER_RUN = 10;
const CATCH_UP_BUDGET_MS = 20_000;
/** Missed intervals older than this are left missing (the stack was down longer than that). */
const CATCH_UP_WINDOW_MS = 24 * 3_600_000;

/**
 * Intervals before `target` that have no global rollup, newest first: from the first rollup within
 * the catch-up window (a stack that never ran before has nothing to catch up) up to `target`.
 */
async function missedIntervals(target: Interval): Promise<Interval[]> {
  const length = target.end - target.start;
  const windowStart = target.start - Math.floor(CATCH_UP_WINDOW_MS / length) * length;
  // At most one key per interval of the window (1,440 at one-minute intervals): a bounded partition range.
  const stored = await queryAll({
    TableName: config.STATS_TABLE,
    KeyConditionExpression: 'series = :series AND #at BETWEEN :from AND :to',
    ExpressionAttributeNames: { '#at': 'at' },
    ExpressionAttributeValues: {
      ':series': GLOBAL_SERIES,
      ':from': timeKey(windowStart),
      ':to': timeKey(target.start),
    },
    ProjectionExpression: '#at',
  });
  const done = new Set(stored.map((item) => String(item.at)));
  const first = [...done].sort()[0];
  if (first === undefined) return [];
  const missed: Interval[] = [];
  for (let start = target.start - length; start > Number(first); start -= length)
    if (!done.has(timeKey(start))) missed.push({ start, end: start + length });
  return missed;
}

export interface ScheduledRollupResult extends RollupResult {
  /** Starts of the earlier intervals this run rolled up because they had been missed (stack down). */
  caughtUp: string[];
  /** Missed intervals still to catch up (later runs do, newest first). */
  stillMissed: number;
}

/**
 * A scheduled run: `target` first (the current figures are never late), then, within a bound, the
 * intervals missed while nothing ran (newest first). Each is an ordinary rollup of its interval, so
 * overlapping or repeated runs rewrite the same items.
 */
export async function rollupScheduled(target: Interval, observedAt: Date): Promise<ScheduledRollupResult> {
  const started = Date.now();
  const result = await rollupStats(target, observedAt);
  const missed = await missedIntervals(target);
  const caughtUp: string[] = [];
  for (const interval of missed) {
    if (caughtUp.length >= CATCH_UP_PER_RUN || Date.now() - started > CATCH_UP_BUDGET_MS) break;
    await rollupStats(interval, observedAt);
    caughtUp.push(new Date(interval.start).toISOString());
  }
  if (caughtUp.length > 0)
    logger.info('missed intervals rolled up', {
      caughtUp: caughtUp.length,
      stillMissed: missed.length - caughtUp.length,
    });
  return { ...result, caughtUp, stillMissed: missed.length - caughtUp.length };
}
