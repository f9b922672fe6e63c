import * as z from 'zod';
import { DEVICE_ID_PATTERN } from '../lib/devices/credentials';
import { listDevices, registerDevice, revokeDevice, rotateToken } from '../lib/devices/devices';
import { deviceStatus } from '../lib/devices/status';
import { NotFoundError } from '../lib/errors';
import { authenticatedRoute } from '../lib/http/handler';
import { requireAdmin } from '../lib/http/principal';
import { json } from '../lib/http/response';
import { page } from '../lib/pagination';
import { isWellFormedText, parseInput, WELL_FORMED_MESSAGE } from '../lib/validation';

const registration = z
  .strictObject({
    deviceId: z
      .string()
      .regex(DEVICE_ID_PATTERN, 'letters, digits, - and _ only, 3 to 64 characters')
      .optional(),
    name: z.string().min(1).max(200).refine(isWellFormedText, WELL_FORMED_MESSAGE).optional(),
    expectedIntervalSeconds: z.number().int().min(1).max(31_536_000).optional(),
  })
  .default({});
const deviceIdParameter = z.strictObject({
  deviceId: z.string().regex(DEVICE_ID_PATTERN, 'not a device id'),
});
const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().optional(),
});

// Device administration (admin only): register, list, show, revoke, rotate a token.
export const handler = authenticatedRoute(async (request) => {
  requireAdmin(request.principal);
  const route = `${request.method} ${request.resource}`;
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
    case 'GET /api/devices/{deviceId}': {
      const { deviceId } = parseInput(deviceIdParameter, request.pathParameters, 'path');
      return json(200, await deviceStatus(deviceId));
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
