import { config } from '../config';
import type { ClockSkewAction } from '../devices/device';
import { findDevice, recordClockMeasurement } from '../devices/devices';
import { ValidationError } from '../errors';
import { logger } from '../logger';
import { count, MetricName } from '../observability';
import { EARLIEST_PLAUSIBLE_MS } from './reading-time';

// Clock skew at ingest: each reading's interrogator_time against the request's arrival. Outside
// arrival ± window a reading is flagged (counted, named in the 202) or, with action `reject`, its whole
// request is refused. The device's measured offset goes onto its item, written at most once per
// CLOCK_OFFSET_WRITE_SECONDS per container unless it moved by CLOCK_OFFSET_CHANGE_MS: one UpdateItem
// per device per minute per container for a steady clock, not one per request.

export interface ClockSkewPolicy {
  windowSeconds: number;
  action: ClockSkewAction;
}

/**
 * A reading's clock time in ms, or undefined when its interrogator_time is no time at all (unset -1, a
 * counter, before 2000). No upper bound, unlike `plausibleInterrogatorMs`: a clock far ahead is
 * exactly what this check is for.
 */
export function clockTimeMs(interrogatorMicros: number): number | undefined {
  const ms = Math.floor(interrogatorMicros / 1000);
  return ms >= EARLIEST_PLAUSIBLE_MS ? ms : undefined;
}

export interface ClockMeasurement {
  /** Indexes of the readings outside arrival ± window, with their own offsets. */
  outside: { index: number; offsetMs: number }[];
  /**
   * The newest reading's time minus arrival: the reading taken closest to sending, so readings a
   * device buffered while offline do not pass for a slow clock. Undefined when no reading has a time.
   */
  offsetMs: number | undefined;
}

export function measureClock(
  interrogatorTimes: number[],
  arrivedAtMs: number,
  windowSeconds: number,
): ClockMeasurement {
  const outside: ClockMeasurement['outside'] = [];
  let newest: number | undefined;
  interrogatorTimes.forEach((micros, index) => {
    const ms = clockTimeMs(micros);
    if (ms === undefined) return;
    const offsetMs = ms - arrivedAtMs;
    if (Math.abs(offsetMs) > windowSeconds * 1000) outside.push({ index, offsetMs });
    if (newest === undefined || ms > newest) newest = ms;
  });
  return { outside, offsetMs: newest === undefined ? undefined : newest - arrivedAtMs };
}

interface DeviceClockState {
  policy: ClockSkewPolicy;
  readAt: number;
  /** The offset last stored (by this container, or read from the item) and when. */
  stored?: { offsetMs: number; at: number };
  /** Counts not yet written: flushed with the next write (lost if the container ends first). */
  pendingFlagged: number;
  pendingRejected: number;
}

// Per container; bounded so a container serving a large fleet does not grow without end.
const MAX_DEVICES_CACHED = 10_000;
const states = new Map<string, DeviceClockState>();

async function stateOf(deviceId: string, now: number): Promise<DeviceClockState> {
  const cached = states.get(deviceId);
  if (cached && now - cached.readAt < config.DEVICE_SETTINGS_CACHE_SECONDS * 1000) return cached;
  const device = await findDevice(deviceId);
  const measuredAt = device?.clockOffsetMeasuredAt ? Date.parse(device.clockOffsetMeasuredAt) : Number.NaN;
  const state: DeviceClockState = {
    policy: {
      windowSeconds: device?.clockSkewWindowSeconds ?? config.CLOCK_SKEW_WINDOW_SECONDS,
      action: device?.clockSkewAction ?? config.CLOCK_SKEW_ACTION,
    },
    readAt: now,
    stored:
      device?.clockOffsetMs !== undefined && Number.isFinite(measuredAt)
        ? { offsetMs: device.clockOffsetMs, at: measuredAt }
        : undefined,
    pendingFlagged: cached?.pendingFlagged ?? 0,
    pendingRejected: cached?.pendingRejected ?? 0,
  };
  states.delete(deviceId);
  states.set(deviceId, state);
  if (states.size > MAX_DEVICES_CACHED) {
    const oldest = states.keys().next().value;
    if (oldest !== undefined) states.delete(oldest);
  }
  return state;
}

/** Writes the measurement when the stored one is missing, old, or materially different. Never throws. */
async function record(
  deviceId: string,
  state: DeviceClockState,
  offsetMs: number,
  now: number,
): Promise<void> {
  const { stored } = state;
  const due =
    stored === undefined ||
    now - stored.at >= config.CLOCK_OFFSET_WRITE_SECONDS * 1000 ||
    Math.abs(offsetMs - stored.offsetMs) >= config.CLOCK_OFFSET_CHANGE_MS;
  if (!due) return;
  const flagged = state.pendingFlagged;
  const rejected = state.pendingRejected;
  try {
    await recordClockMeasurement(deviceId, {
      offsetMs,
      measuredAt: new Date(now).toISOString(),
      flagged,
      rejected,
    });
    state.stored = { offsetMs, at: now };
    state.pendingFlagged -= flagged;
    state.pendingRejected -= rejected;
  } catch (error) {
    // The readings are already queued (or refused): a failed bookkeeping write must not change that.
    logger.warn('could not record the device clock', { error: error as Error });
  }
}

export interface ClockSkewResult {
  windowSeconds: number;
  offsetMs: number | undefined;
  /** Indexes of readings accepted although outside the window. */
  flagged: number[];
}

/**
 * Checks a request's readings before anything is sealed or queued. With the policy `reject`, a reading
 * outside the window refuses the request (400 naming it; the refusal is counted and measured).
 */
export async function checkClockSkew(
  deviceId: string,
  interrogatorTimes: number[],
  arrivedAtMs: number,
): Promise<ClockSkewResult> {
  const now = Date.now();
  const state = await stateOf(deviceId, now);
  const { windowSeconds, action } = state.policy;
  const { outside, offsetMs } = measureClock(interrogatorTimes, arrivedAtMs, windowSeconds);
  const [first] = outside;
  if (first && action === 'reject') {
    count(MetricName.ClockSkewRejected);
    state.pendingRejected += 1;
    if (offsetMs !== undefined) await record(deviceId, state, offsetMs, now);
    const field = `[${first.index}].data.interrogator_time`;
    throw new ValidationError(
      `${field}: ${(first.offsetMs / 1000).toFixed(3)} s from the request's arrival; this device's clock may be off by at most ${windowSeconds} s (clock skew action: reject)`,
      { field, offsetMs: first.offsetMs, windowSeconds, readingsOutside: outside.length },
    );
  }
  return { windowSeconds, offsetMs, flagged: outside.map(({ index }) => index) };
}

/** After the readings are queued: counts the flagged ones and records the device's offset (bounded). */
export async function recordClockSkew(deviceId: string, result: ClockSkewResult): Promise<void> {
  if (result.flagged.length > 0) count(MetricName.ClockSkewFlagged, result.flagged.length);
  if (result.offsetMs === undefined) return;
  const now = Date.now();
  try {
    const state = await stateOf(deviceId, now);
    state.pendingFlagged += result.flagged.length;
    await record(deviceId, state, result.offsetMs, now);
  } catch (error) {
    logger.warn('could not record the device clock', { error: error as Error });
  }
}
