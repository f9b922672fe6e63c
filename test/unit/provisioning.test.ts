import { deviceIdOfToken, hashToken, tokenMatches } from '../../src/lib/devices/credentials';
import { keyIdOf, newKeyId, PROVISIONING_KEY_ID_PATTERN } from '../../src/lib/provisioning/key-format';
import { keyStatus, type ProvisioningKeyRecord, publicKey } from '../../src/lib/provisioning/keys';
import { derivedCredentials } from '../../src/lib/provisioning/provision';

const record = (overrides: Partial<ProvisioningKeyRecord> = {}): ProvisioningKeyRecord => ({
  id: 'pk_AAAAAAAAAAAAAAAA',
  kind: 'provisioning-key',
  createdKey: '2026-01-01T00:00:00.000Z#pk_AAAAAAAAAAAAAAAA',
  name: 'line 3',
  maxDevices: 2,
  used: 0,
  createdAt: '2026-01-01T00:00:00.000Z',
  expiresAt: '2026-02-01T00:00:00.000Z',
  secretHash: hashToken('pk_AAAAAAAAAAAAAAAA.secret'),
  ...overrides,
});
const during = new Date('2026-01-15T00:00:00.000Z');

describe('provisioning key ids', () => {
  it('makes ids of the pattern, never with "." or "#"', () => {
    for (let i = 0; i < 200; i += 1) {
      const id = newKeyId();
      expect(id).toMatch(PROVISIONING_KEY_ID_PATTERN);
      expect(id).not.toMatch(/[.#]/);
    }
  });

  it('reads the key id of a presented key, and nothing from other shapes', () => {
    expect(keyIdOf('pk_AAAAAAAAAAAAAAAA.secret')).toBe('pk_AAAAAAAAAAAAAAAA');
    for (const other of [
      'pk_AAAAAAAAAAAAAAAA',
      'dev_AAAAAAAAAAAAAAAA.secret',
      'pk_short.secret',
      '.secret',
      'source#1.2',
    ]) {
      expect(keyIdOf(other)).toBeUndefined();
    }
  });
});

describe('keyStatus', () => {
  it('is active within its expiry and limit', () => {
    expect(keyStatus(record(), during)).toBe('active');
  });

  it('says revoked before expired before exhausted', () => {
    const all = { revokedAt: '2026-01-10T00:00:00.000Z', expiresAt: '2026-01-12T00:00:00.000Z', used: 2 };
    expect(keyStatus(record(all), during)).toBe('revoked');
    expect(keyStatus(record({ ...all, revokedAt: undefined }), during)).toBe('expired');
    expect(keyStatus(record({ used: 2 }), during)).toBe('exhausted');
  });

  it('counts the expiry instant itself as expired', () => {
    expect(keyStatus(record({ expiresAt: during.toISOString() }), during)).toBe('expired');
  });
});

describe('publicKey', () => {
  it('shows no secret or hash, and revoked as a flag', () => {
    const shown = publicKey(record({ revokedAt: '2026-01-10T00:00:00.000Z' }));
    expect(shown).toEqual({
      keyId: 'pk_AAAAAAAAAAAAAAAA',
      name: 'line 3',
      maxDevices: 2,
      used: 0,
      createdAt: '2026-01-01T00:00:00.000Z',
      expiresAt: '2026-02-01T00:00:00.000Z',
      revoked: true,
      revokedAt: '2026-01-10T00:00:00.000Z',
      status: 'revoked',
    });
  });
});

describe('derivedCredentials (Idempotency-Key retries)', () => {
  it('gives the same device id and token for the same key secret and Idempotency-Key', () => {
    const first = derivedCredentials('secret-1', 'idem-0123456789abcdef');
    expect(derivedCredentials('secret-1', 'idem-0123456789abcdef')).toEqual(first);
    expect(first.deviceId).toMatch(/^dev_[A-Za-z0-9_-]{16}$/);
    // A device token like any other: it names its device and is stored as its hash.
    expect(deviceIdOfToken(first.token)).toBe(first.deviceId);
    expect(first.token).toMatch(/^dev_[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{43}$/);
    expect(tokenMatches(first.token, hashToken(first.token))).toBe(true);
  });

  it('differs with another key secret or another Idempotency-Key', () => {
    const base = derivedCredentials('secret-1', 'idem-0123456789abcdef');
    for (const other of [
      derivedCredentials('secret-2', 'idem-0123456789abcdef'),
      derivedCredentials('secret-1', 'idem-0123456789abcdeg'),
    ]) {
      expect(other.deviceId).not.toBe(base.deviceId);
      expect(other.token.split('.')[1]).not.toBe(base.token.split('.')[1]);
    }
  });
});
