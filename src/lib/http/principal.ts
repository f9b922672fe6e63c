import * as z from 'zod';
import { DEVICE_ID_PATTERN } from '../devices/credentials';
import { AuthError, ForbiddenError, ValidationError } from '../errors';

// Who is calling, as established by the Lambda authorizer and handed to handlers through
// requestContext.authorizer (API Gateway stringifies every value of that context).
export type Principal = { role: 'admin'; deviceId?: undefined } | { role: 'device'; deviceId: string };

const authorizerContext = z.union([
  z.object({ role: z.literal('admin') }),
  z.object({ role: z.literal('device'), deviceId: z.string().min(1) }),
]);

export function principalFrom(authorizer: unknown): Principal {
  const parsed = authorizerContext.safeParse(authorizer);
  if (!parsed.success) throw new AuthError();
  return parsed.data.role === 'admin'
    ? { role: 'admin' }
    : { role: 'device', deviceId: parsed.data.deviceId };
}

export function requireAdmin(principal: Principal): void {
  if (principal.role !== 'admin') throw new ForbiddenError('This route is for administrators');
}

// The device whose data a request may touch: a device only its own, an admin any it names.
export function resolveDeviceScope(principal: Principal, requestedDeviceId?: string): string {
  // Ids of other shapes address internal partitions (`<deviceId>#arrivals`…), never a device.
  if (requestedDeviceId !== undefined && !DEVICE_ID_PATTERN.test(requestedDeviceId)) {
    throw new ValidationError('path.deviceId: not a device id', { field: 'path.deviceId' });
  }
  if (principal.role === 'admin') {
    if (!requestedDeviceId)
      throw new ForbiddenError('Administrators address a device by /api/devices/{deviceId}/…');
    return requestedDeviceId;
  }
  if (requestedDeviceId !== undefined && requestedDeviceId !== principal.deviceId) {
    throw new ForbiddenError("This device may not access another device's data");
  }
  return principal.deviceId;
}
