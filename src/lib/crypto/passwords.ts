import { createHash, createHmac, scrypt } from 'node:crypto';

// db_password, honoured like S3 SSE-C: rows written with a password are sealed under a key derived
// from the data key AND the password (memory-hard scrypt with a per-device salt). The server keeps
// only a verifier id per password, never the password or its derived key at rest.
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;
const CACHE_TTL_MS = 10 * 60_000;
const CACHE_MAX = 256;

// A container caches derived keys for a few minutes so a device sending many requests with the same
// password pays the KDF once. The cache key is a hash; the password itself is never kept.
const derived = new Map<string, { key: Promise<Buffer>; at: number }>();

export function passwordKey(password: string, saltBase64: string): Promise<Buffer> {
  const cacheKey = createHash('sha256').update(saltBase64).update('\0').update(password).digest('base64');
  const hit = derived.get(cacheKey);
  if (hit && Date.now() - hit.at < CACHE_TTL_MS) return hit.key;
  if (derived.size >= CACHE_MAX) {
    const oldest = derived.keys().next().value;
    if (oldest !== undefined) derived.delete(oldest);
  }
  const key = new Promise<Buffer>((resolve, reject) =>
    scrypt(password, Buffer.from(saltBase64, 'base64'), 32, SCRYPT, (error, result) =>
      error ? reject(error) : resolve(result),
    ),
  );
  derived.set(cacheKey, { key, at: Date.now() });
  return key;
}

/**
 * Passwords are compared as Unicode text, not code units: "é" composed (U+00E9) and decomposed
 * (e + U+0301) are the same password. Rows written before this normalisation were sealed under the
 * password as sent; src/lib/devices/passwords.ts also tries that form, so they stay readable.
 */
export const normalisePassword = (password: string): string => password.normalize('NFC');

/**
 * The first verifier layout (v1): a hash of an HMAC under the scrypt-derived key. Anyone holding a
 * table export (salt + v1 id) can test guesses offline, so v1 ids are only recognised, never written.
 */
export function verifierId(passwordDerivedKey: Buffer): string {
  const verifier = createHmac('sha256', passwordDerivedKey)
    .update('sensorcloud/password-verifier/v1')
    .digest();
  return createHash('sha256').update(verifier).digest('base64url').slice(0, 22);
}

/**
 * The verifier id written since v2: an HMAC keyed by the pepper, a secret the tables do not hold
 * (stored only wrapped by KMS, see pepper.ts), so an export of the tables alone cannot test guesses.
 */
export function pepperedVerifierId(pepper: Buffer, passwordDerivedKey: Buffer): string {
  return createHmac('sha256', pepper)
    .update('sensorcloud/password-verifier/v2\n')
    .update(passwordDerivedKey)
    .digest('base64url')
    .slice(0, 22);
}
