import * as z from 'zod';
import { DEVICE_ID_PATTERN } from '../lib/devices/credentials';
import {
  listDevices,
  registerDevice,
  revokeDevice,
  rotateToken,
  updateDeviceSettings,
} from '../lib/devices/devices';
import { deviceStatus } from '../lib/devices/status';
import { NotFoundError } from '../lib/errors';
import { authenticatedRoute } from '../lib/http/handler';
import { requireAdmin, resolveDeviceScope } from '../lib/http/principal';
import { json } from '../lib/http/response';
import { page } from '../lib/pagination';
import { isWellFormedText, parseInput, WELL_FORMED_MESSAGE } from '../lib/validation';

const name = z.string().min(1).max(200).refine(isWellFormedText, WELL_FORMED_MESSAGE);
const expectedIntervalSeconds = z.number().int().min(1).max(31_536_000);
// Up to a year either way: devices that buffer for long offline need a wide window.
const clockSkewWindowSeconds = z.number().int().min(1).max(31_536_000);
const clockSkewAction = z.enum(['flag', 'reject']);
// Alert rules may evaluate readings sealed with a db_password (default: no).
const alertsOnPasswordReadings = z.boolean();
const registration = z
  .strictObject({
    deviceId: z
      .string()
      .regex(DEVICE_ID_PATTERN, 'letters, digits, - and _ only, 3 to 64 characters')
      .optional(),
    name: name.optional(),
    expectedIntervalSeconds: expectedIntervalSeconds.optional(),
    clockSkewWindowSeconds: clockSkewWindowSeconds.optional(),
    clockSkewAction: clockSkewAction.optional(),
    alertsOnPasswordReadings: alertsOnPasswordReadings.optional(),
  })
  .default({});
// null removes a setting (the stage's default applies again).
const settings = z
  .strictObject({
    name: name.optional(),
    expectedIntervalSeconds: expectedIntervalSeconds.nullable().optional(),
    clockSkewWindowSeconds: clockSkewWindowSeconds.nullable().optional(),
    clockSkewAction: clockSkewAction.nullable().optional(),
    alertsOnPasswordReadings: alertsOnPasswordReadings.nullable().optional(),
  })
  .refine((body) => Object.values(body).some((value) => value !== undefined), 'no setting to change');
const deviceIdParameter = z.strictObject({
  deviceId: z.string().regex(DEVICE_ID_PATTERN, 'not a device id'),
});
const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().optional(),
});

// Device administration (admin only): register, list, show, change settings, revoke, rotate a token.
// A device may read its own record (its status and measured clock), nothing else here.
export const handler = authenticatedRoute(async (request) => {
  const route = `${request.method} ${request.resource}`;
  if (route === 'GET /api/devices/{deviceId}') {
    const { deviceId } = parseInput(deviceIdParameter, request.pathParameters, 'path');
    return json(200, await deviceStatus(resolveDeviceScope(request.principal, deviceId)));
  }
  requireAdmin(request.principal);
  switch (route) {
    case 'POST /api/devices': {
      const input = parseInput(registration, request.body, 'body');
      const { device, token } = await registerDevice(input);
      return json(201, { ...device, token });
    }
    case 'GET /api/devices': {
      const { limit, cursor } = parseInput(listQuery, request.query, 'query');
      const result = await listDevices(limit, cursor);
      return json(200, page(result.devices, result.next));
    }
    case 'PATCH /api/devices/{deviceId}': {
      const { deviceId } = parseInput(deviceIdParameter, request.pathParameters, 'path');
      return json(200, await updateDeviceSettings(deviceId, parseInput(settings, request.body, 'body')));
    }
    case 'DELETE /api/devices/{deviceId}': {
      const { deviceId } = parseInput(deviceIdParameter, request.pathParameters, 'path');
      return json(200, await revokeDevice(deviceId));
    }
    case 'POST /api/devices/{deviceId}/token': {
      const { deviceId } = parseInput(deviceIdParameter, request.pathParameters, 'path');
      const { device, token } = await rotateToken(deviceId);
      return json(200, { ...device, token });
    }
    default:
      throw new NotFoundError(`No route for ${route}`);
  }
});
