import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

// Device ids appear in tokens (`<deviceId>.<secret>`), Basic credentials and URLs: keep them to a
// URL-safe alphabet with no '.' or ':'.
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9_-]{3,64}$/;

export function newDeviceId(): string {
  return `dev_${randomBytes(12).toString('base64url')}`;
}

/**
 * A bearer token that names what it opens, so a lookup needs no index: `<id>.<secret>` (device tokens,
 * provisioning keys). The secret is 256 random bits, or given (derived from another such secret).
 */
export function newToken(id: string, secret: Buffer = randomBytes(32)): string {
  return `${id}.${secret.toString('base64url')}`;
}

export const newDeviceToken = (deviceId: string): string => newToken(deviceId);

/** Tokens carry 256 random bits, so a fast hash is enough to store them (no KDF, no pepper needed). */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function tokenMatches(token: string, storedHash: string): boolean {
  const presented = Buffer.from(hashToken(token), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}

export function sameSecret(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export type Credentials =
  | { scheme: 'bearer'; token: string }
  | { scheme: 'basic'; username: string; password: string };

/** Parses an Authorization header: `Bearer <token>` or `Basic base64(user:password)`. */
export function parseAuthorization(header: string | undefined): Credentials | undefined {
  if (!header) return undefined;
  const match = /^\s*(\w+)\s+(\S+)\s*$/.exec(header);
  if (!match) return undefined;
  const [, scheme = '', value = ''] = match;
  if (scheme.toLowerCase() === 'bearer') return { scheme: 'bearer', token: value };
  if (scheme.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) return undefined;
    return { scheme: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  return undefined;
}

/** The id a token of `newToken` claims (verified against the stored hash by the caller). */
export function idOfToken(token: string, pattern: RegExp): string | undefined {
  const dot = token.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const id = token.slice(0, dot);
  return pattern.test(id) ? id : undefined;
}

/** The device a token claims to belong to (verified against the stored hash by the caller). */
export const deviceIdOfToken = (token: string): string | undefined => idOfToken(token, DEVICE_ID_PATTERN);
