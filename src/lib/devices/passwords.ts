import { normalisePassword, passwordKey, pepperedVerifierId, verifierId } from '../crypto/passwords';
import { passwordPepper } from '../crypto/pepper';
import { ForbiddenError } from '../errors';
import { logger } from '../logger';
import { type DeviceRecord, getDevice, rememberPasswordVerifier, replacePasswordVerifiers } from './devices';
import { recordWrongPassword, releasePasswordGuess, reservePasswordGuess } from './password-guesses';

// How a db_password opens a device's rows. A row names the verifier id of the password it was sealed
// with (`pv`); the key for it is derived from the password (scrypt, per-device salt). Two layouts of
// verifier ids exist: v1 (salt + password only, rows written before the pepper) and v2 (keyed by the
// pepper). Row keys did not change, so a password opens rows of both layouts.

/** Verifier id → the password-derived key that opens rows carrying it. Empty: no password given. */
export interface PasswordAccess {
  keys: ReadonlyMap<string, Buffer>;
}

export const NO_PASSWORD: PasswordAccess = { keys: new Map() };

/** The key of the normalised password, and of the password as sent when that differs (old rows). */
async function candidateKeys(password: string, salt: string): Promise<Buffer[]> {
  const normalised = normalisePassword(password);
  const keys = [await passwordKey(normalised, salt)];
  if (normalised !== password) keys.push(await passwordKey(password, salt));
  return keys;
}

/** Moves the device's v1 ids of these keys to v2, so its stored verifiers need the pepper too. */
async function upgradeLegacyVerifiers(device: DeviceRecord, keys: Buffer[], pepper: Buffer): Promise<void> {
  const replacements = new Map(keys.map((key) => [verifierId(key), pepperedVerifierId(pepper, key)]));
  if (await replacePasswordVerifiers(device, replacements)) {
    logger.info('password verifier upgraded to v2', { deviceId: device.deviceId });
  }
}

/**
 * What a query's db_password may read. Each check spends one of the device's guesses unless the
 * password is right (429 once they are spent); a password the device never wrote with is a 403.
 */
export async function passwordAccess(
  deviceId: string,
  password: string | undefined,
): Promise<PasswordAccess> {
  if (password === undefined) return NO_PASSWORD;
  const device = await getDevice(deviceId);
  const reservation = await reservePasswordGuess(deviceId);
  const [keys, pepper] = await Promise.all([
    candidateKeys(password, device.passwordSalt),
    passwordPepper({ create: false }),
  ]);
  const access = new Map<string, Buffer>();
  for (const key of keys) {
    access.set(verifierId(key), key);
    if (pepper) access.set(pepperedVerifierId(pepper, key), key);
  }
  if (!device.passwordVerifiers?.some((id) => access.has(id))) {
    await recordWrongPassword(reservation);
    throw new ForbiddenError('db_password does not match any password this device has written with');
  }
  await releasePasswordGuess(reservation);
  if (pepper) await upgradeLegacyVerifiers(device, keys, pepper);
  return { keys: access };
}

/** The key and (v2) verifier id to seal new rows with; records the verifier on the device. */
export async function passwordForWriting(
  device: DeviceRecord,
  password: string,
): Promise<{ passwordDerivedKey: Buffer; verifier: string }> {
  const passwordDerivedKey = await passwordKey(normalisePassword(password), device.passwordSalt);
  const pepper = (await passwordPepper({ create: true })) as Buffer;
  const verifier = pepperedVerifierId(pepper, passwordDerivedKey);
  await upgradeLegacyVerifiers(device, [passwordDerivedKey], pepper);
  await rememberPasswordVerifier(device, verifier);
  return { passwordDerivedKey, verifier };
}
