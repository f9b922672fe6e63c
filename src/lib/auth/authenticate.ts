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

  const deviceId = deviceIdOfToken(secret);
  if (!deviceId) {
    // Only the admin token can match a secret that is not device-shaped; device-shaped secrets never
    // reach this check, so device requests do not read (or load the client for) the SSM parameter.
    if ((user === undefined || user === 'admin') && sameSecret(secret, await adminToken()))
      return { role: 'admin' };
    return undefined;
  }
  // Basic credentials name the device twice (user and token prefix): they must agree.
  if (user !== undefined && user !== deviceId) return undefined;
  const device = await findDevice(deviceId);
  if (device?.status !== 'active' || !tokenMatches(secret, device.tokenHash)) return undefined;
  return { role: 'device', deviceId };
}
