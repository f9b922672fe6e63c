// The shapes of GET /api/stats (src/lib/stats/series.ts).
export interface GlobalRollup {
  intervalStart: string;
  intervalEnd: string;
  devices?: number;
  devicesReporting?: number;
  silentDevices?: number;
  readingsStored?: number;
  ingestRatePerMinute?: number;
  imagesProcessed?: number;
  imagesRejected?: number;
  queueVisible?: number;
  queueInFlight?: number;
  /** null where the age is not known (offline: no CloudWatch). */
  oldestMessageAgeSeconds?: number | null;
  dlqDepth?: number;
  [field: string]: unknown;
}

export interface DeviceRollup {
  deviceId: string;
  intervalStart: string;
  readingsStored?: number;
  total?: number;
  lastSeenAt?: string;
  maxRelativeTime?: number;
  [field: string]: unknown;
}

export type { StatsSeries } from '../../src/lib/stats/series-shape';

export const seconds = (iso: string): number => Date.parse(iso) / 1000;

/** Sum of a field over the intervals that started within the last `minutes`. */
export function sumSince(rows: Array<Record<string, unknown>>, field: string, minutes: number): number {
  const since = Date.now() - minutes * 60_000;
  let total = 0;
  for (const row of rows) {
    const value = row[field];
    if (typeof value === 'number' && Date.parse(String(row.intervalStart)) >= since) total += value;
  }
  return total;
}

/** One numeric column of the series for a chart (missing values are gaps). */
export const column = (rows: Array<Record<string, unknown>>, field: string): Array<number | null> =>
  rows.map((row) => (typeof row[field] === 'number' ? (row[field] as number) : null));
