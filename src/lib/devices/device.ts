// A device as the API shows it. Types only, with no imports: the web console (console/) imports them
// too, so both sides of GET /api/devices agree.

export type ReportingState = 'reporting' | 'silent';

export interface Device {
  deviceId: string;
  name?: string;
  status: 'active' | 'revoked';
  createdAt: string;
  tokenRotatedAt?: string;
  revokedAt?: string;
  /** Expected seconds between readings; used to flag silent devices. */
  expectedIntervalSeconds?: number;
  /** Set by the detect-silent-devices job; absent until its first transition ('reporting'). */
  reportingState?: ReportingState;
  stateChangedAt?: string;
  /** The provisioning key that created it, when it registered itself (POST /api/provision). */
  provisionedBy?: string;
  /** ± seconds around arrival a reading's interrogator_time may lie; absent: the stage's default. */
  clockSkewWindowSeconds?: number;
  /** What happens to a request with a reading outside the window; absent: the stage's default. */
  clockSkewAction?: ClockSkewAction;
  /** The device's clock as measured at ingest (absent until a reading carried a time). */
  clock?: DeviceClock;
  /** Alert rules may evaluate this device's readings sealed with a db_password (default: no). */
  alertsOnPasswordReadings?: boolean;
}

export type ClockSkewAction = 'flag' | 'reject';

export interface DeviceClock {
  /** Newest reading's interrogator_time minus the request's arrival, ms (positive: the clock is ahead). */
  offsetMs: number;
  measuredAt: string;
  /** Readings accepted with a time outside the window, and requests refused for one (approximate: see README). */
  flaggedReadings: number;
  rejectedRequests: number;
}
