// Reading payloads shaped like an RFID interrogator's (the original clients' freeform fields).

export const freeformOf = (index: number) => ({
  rssi: -40 - (index % 50),
  epc96: `e28011606000020${String(index % 1_000_000_000).padStart(9, '0')}`,
  antenna: 1 + (index % 4),
  phase: (index * 37) % 4096,
  doppler: ((index * 13) % 2001) - 1000,
  channelindex: 1 + (index % 50),
});

/**
 * Relative (and interrogator) times are microseconds, as the original interrogator sends them; the
 * bench's device reads every 10 ms, a fast reader (the original client's sample sends every 0.5 s).
 */
export const RELATIVE_TIME_STEP = 10_000;
/** Relative time of the bench's reading number `index`. */
export const relativeTimeOf = (index: number) => index * RELATIVE_TIME_STEP;
export const interrogatorTimeOf = (index: number) => 1_700_000_000_000_000 + index * RELATIVE_TIME_STEP;

/** The original wire format: a list of {"data": {...}}, readings first..first+count-1. */
export function readingsBody(count: number, first: number, password?: string): string {
  return JSON.stringify(
    Array.from({ length: count }, (_, index) => ({
      data: {
        ...(password ? { db_password: password } : {}),
        relative_time: relativeTimeOf(first + index),
        interrogator_time: interrogatorTimeOf(first + index),
        freeform: freeformOf(first + index),
      },
    })),
  );
}

/** The relative-time window of readings first..first+count-1: `/{start}/{end}`. */
export const windowPath = (first: number, count: number) =>
  `/${relativeTimeOf(first)}/${relativeTimeOf(first + count - 1)}`;
