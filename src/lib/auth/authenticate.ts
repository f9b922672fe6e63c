import { deviceIdOfToken, parseAuthorization, sameSecret, tokenMatches } from '../devices/credentials';
import { findDevice } from '../devices/devices';
import type { Principal } from '../http/principal';
import { adminToken } from './admin-token';

/** Who presents these credentials, or undefined when nobody (the caller then gets 401). */
export async function authenticate(authorizationHeader: string | undefined): Promise<Principal | undefined> {
  const credentials = parseAuthorization(authorizationHeader);
  if (!credentials) return undefined;
  const [user, secret] =
    credentials.scheme === 'bearer'
      ? [undefined, credentials.token]
      : [credentials.username, credentials.password];

  if ((user === undefined || user === 'admin') && sameSecret(secret, await adminToken()))
    return { role: 'admin' };

  const deviceId = deviceIdOfToken(secret);
  // Basic credentials name the device twice (user and token prefix): they must agree.
  if (!deviceId || (user !== undefined && user !== deviceId)) return undefined;
  const device = await findDevice(deviceId);
  if (device?.status !== 'active' || !tokenMatches(secret, device.tokenHash)) return undefined;
  return { role: 'device', deviceId };
}
