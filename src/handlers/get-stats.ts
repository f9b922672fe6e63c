import * as z from 'zod';
import { config } from '../lib/config';
import { DEVICE_ID_PATTERN } from '../lib/devices/credentials';
import { authenticatedRoute } from '../lib/http/handler';
import { resolveDeviceScope } from '../lib/http/principal';
import { json } from '../lib/http/response';
import { statsSeries } from '../lib/stats/series';
import { parseInput } from '../lib/validation';

const statsQuery = z.strictObject({
  minutes: z.coerce.number().int().min(1).max(config.STATS_MAX_MINUTES).default(60),
});
const statsPath = z.strictObject({
  deviceId: z.string().regex(DEVICE_ID_PATTERN, 'not a device id').optional(),
});

// GET /api/stats?minutes=60: admins get the global series, a device its own;
// GET /api/devices/{deviceId}/stats: a device's series (admins any device, a device only itself).
export const handler = authenticatedRoute(
  async (request) => {
    const { minutes } = parseInput(statsQuery, request.query, 'query');
    const { deviceId } = parseInput(statsPath, request.pathParameters, 'path');
    const scope =
      request.principal.role === 'admin' && deviceId === undefined
        ? ({ kind: 'global' } as const)
        : ({ kind: 'device', deviceId: resolveDeviceScope(request.principal, deviceId) } as const);
    return json(200, await statsSeries(scope, minutes));
  },
  { body: 'none' },
);
