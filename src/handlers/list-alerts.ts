import * as z from 'zod';
import { listCurrentAlerts } from '../lib/alerts/listing';
import { DEVICE_ID_PATTERN } from '../lib/devices/credentials';
import { ForbiddenError } from '../lib/errors';
import { authenticatedRoute } from '../lib/http/handler';
import { json } from '../lib/http/response';
import { page } from '../lib/pagination';
import { parseInput } from '../lib/validation';

const alertsQuery = z.strictObject({
  state: z.enum(['firing', 'clear']).optional(),
  deviceId: z.string().regex(DEVICE_ID_PATTERN, 'not a device id').optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().optional(),
});

// GET /api/alerts: current alert states. Admins: every device's in one state (firing by default), or
// one device's (?deviceId=, optionally ?state=); a device: its own only.
export const handler = authenticatedRoute(
  async (request) => {
    const query = parseInput(alertsQuery, request.query, 'query');
    const { principal } = request;
    if (
      principal.role === 'device' &&
      query.deviceId !== undefined &&
      query.deviceId !== principal.deviceId
    ) {
      throw new ForbiddenError("This device may not see another device's alerts");
    }
    const deviceId = principal.role === 'device' ? principal.deviceId : query.deviceId;
    const result = await listCurrentAlerts({ ...query, deviceId });
    return json(200, page(result.data, result.next));
  },
  { body: 'none' },
);
