// Summaries of repeated measurements. Every figure is reported as the median of its runs with the
// min–max range, so one noisy run cannot move the headline.

export interface Range {
  median: number;
  min: number;
  max: number;
  runs: number;
}

const sorted = (values: readonly number[]) => [...values].sort((a, b) => a - b);

/** Nearest-rank percentile (p in 0..100) of raw samples. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const ordered = sorted(values);
  const rank = Math.min(ordered.length - 1, Math.max(0, Math.ceil((p / 100) * ordered.length) - 1));
  return ordered[rank] as number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const ordered = sorted(values);
  const middle = Math.floor(ordered.length / 2);
  return ordered.length % 2
    ? (ordered[middle] as number)
    : ((ordered[middle - 1] as number) + (ordered[middle] as number)) / 2;
}

export function range(values: readonly number[]): Range {
  return {
    median: median(values),
    min: values.length ? Math.min(...values) : Number.NaN,
    max: values.length ? Math.max(...values) : Number.NaN,
    runs: values.length,
  };
}

export interface LatencySummary {
  p50: number;
  p95: number;
  p99: number;
  mean: number;
  count: number;
}

export function latencySummary(samples: readonly number[]): LatencySummary {
  const total = samples.reduce((sum, value) => sum + value, 0);
  return {
    p50: percentile(samples, 50),
    p95: percentile(samples, 95),
    p99: percentile(samples, 99),
    mean: samples.length ? total / samples.length : Number.NaN,
    count: samples.length,
  };
}

/** Collapses per-run summaries of the same shape into a range per field. */
export function rangeOf<T extends object, K extends keyof T>(runs: readonly T[], key: K): Range {
  return range(runs.map((run) => Number(run[key])));
}

/** Least-squares slope of y over x (e.g. rows stored per second from timed samples). */
export function slope(points: ReadonlyArray<{ x: number; y: number }>): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const meanX = points.reduce((sum, point) => sum + point.x, 0) / n;
  const meanY = points.reduce((sum, point) => sum + point.y, 0) / n;
  let numerator = 0;
  let denominator = 0;
  for (const point of points) {
    numerator += (point.x - meanX) * (point.y - meanY);
    denominator += (point.x - meanX) ** 2;
  }
  return denominator === 0 ? Number.NaN : numerator / denominator;
}

/** Human-friendly rounding for tables: 3 significant digits, no exponent for ordinary values. */
export function fmt(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return '–';
  if (value === 0) return '0';
  const magnitude = Math.floor(Math.log10(Math.abs(value)));
  const decimals = Math.max(0, digits - 1 - magnitude);
  return value.toLocaleString('en-US', { maximumFractionDigits: decimals, minimumFractionDigits: 0 });
}

/** "12.3 (11.9–13.0)": a median with its min–max. */
export const fmtRange = (value: Range, digits = 3) =>
  value.runs > 1
    ? `${fmt(value.median, digits)} (${fmt(value.min, digits)}–${fmt(value.max, digits)})`
    : fmt(value.median, digits);
