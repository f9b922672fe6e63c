// When a reading was taken, as one epoch-ms number: its interrogator_time (epoch µs) when that is a
// plausible time, otherwise when it arrived at the API. Aggregates bucket by it; clock-skew checks
// compare the two.

/** 2000-01-01T00:00:00Z: interrogator times before it are counters or unset clocks, not times. */
export const EARLIEST_PLAUSIBLE_MS = Date.UTC(2000, 0, 1);
/** How far ahead of its arrival a reading's own time may be and still count as its time. */
export const MAX_FUTURE_MS = 86_400_000;

/** The interrogator time in ms when it is plausible for a reading that arrived at `arrivedAtMs`. */
export function plausibleInterrogatorMs(interrogatorMicros: number, arrivedAtMs: number): number | undefined {
  const ms = Math.floor(interrogatorMicros / 1000);
  return ms >= EARLIEST_PLAUSIBLE_MS && ms <= arrivedAtMs + MAX_FUTURE_MS ? ms : undefined;
}

export const readingTimeMs = (interrogatorMicros: number, arrivedAtMs: number): number =>
  plausibleInterrogatorMs(interrogatorMicros, arrivedAtMs) ?? arrivedAtMs;
