// A provisioning key as the API shows it. Types only, with no imports: the web console (console/)
// imports them too, so both sides of GET /api/provisioning-keys agree.

export type KeyStatus = 'active' | 'expired' | 'exhausted' | 'revoked';

export interface ProvisioningKey {
  keyId: string;
  name: string;
  maxDevices: number;
  used: number;
  createdAt: string;
  expiresAt: string;
  revoked: boolean;
  revokedAt?: string;
  status: KeyStatus;
}
