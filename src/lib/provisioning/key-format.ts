import { randomBytes } from 'node:crypto';
import { idOfToken } from '../devices/credentials';

// A provisioning key's id: `pk_` and 96 random bits. It never contains '#', so a path parameter can
// never address another item of the table (the `source#<ip>` counters).
export const PROVISIONING_KEY_ID_PATTERN = /^pk_[A-Za-z0-9_-]{16}$/;

export const newKeyId = (): string => `pk_${randomBytes(12).toString('base64url')}`;

/** The key id a presented key claims (`<keyId>.<secret>`), or undefined when it is not key-shaped. */
export const keyIdOf = (key: string): string | undefined => idOfToken(key, PROVISIONING_KEY_ID_PATTERN);
