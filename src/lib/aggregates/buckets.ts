// Time arithmetic of aggregates: UTC, epoch ms. A step's buckets are aligned to the epoch (so `1d`
// buckets start at 00:00Z and `6h` ones at 00, 06, 12 and 18 Z).

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

export const STEPS = {
  '1m': MINUTE_MS,
  '5m': 5 * MINUTE_MS,
  '15m': 15 * MINUTE_MS,
  '1h': HOUR_MS,
  '6h': 6 * HOUR_MS,
  '1d': DAY_MS,
} as const;
export type Step = keyof typeof STEPS;
export const STEP_NAMES = Object.keys(STEPS) as Step[];

/** Buckets one answer may hold: the chosen step gives at most this many, an explicit one must. */
export const MAX_BUCKETS = 1_000;
export const MAX_RANGE_DAYS = 400;

export const floorTo = (ms: number, unit: number) => Math.floor(ms / unit) * unit;
export const ceilTo = (ms: number, unit: number) => Math.ceil(ms / unit) * unit;

/** The bucket-aligned range [start, end) a query covers: `from` rounded down, `to` rounded up, to whole steps. */
export function alignedRange(from: number, to: number, step: Step): { start: number; end: number } {
  return { start: floorTo(from, STEPS[step]), end: ceilTo(to, STEPS[step]) };
}

export const bucketCount = (from: number, to: number, step: Step) => {
  const { start, end } = alignedRange(from, to, step);
  return (end - start) / STEPS[step];
};

/** The finest step giving at most MAX_BUCKETS buckets (the range is at most MAX_RANGE_DAYS, so 1d always does). */
export function chooseStep(from: number, to: number): Step {
  return STEP_NAMES.find((step) => bucketCount(from, to, step) <= MAX_BUCKETS) ?? '1d';
}

/** Below an hour, answers need minute detail (hour summaries); from an hour up, hour detail (day summaries). */
export const needsMinuteDetail = (step: Step) => STEPS[step] < HOUR_MS;
