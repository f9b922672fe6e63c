// The shape of GET /api/stats. Types only, with no imports: the web console (console/) imports it too.
export interface StatsSeries<T> {
  series: 'global' | 'device';
  deviceId?: string;
  intervalSeconds: number;
  from: string;
  to: string;
  /** Oldest first; intervals nobody rolled up are absent. */
  data: T[];
}
