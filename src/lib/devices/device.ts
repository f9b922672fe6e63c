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
}
