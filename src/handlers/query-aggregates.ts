import { listFields, queryAggregates } from '../lib/aggregates/query';
import { aggregatesQuery, fieldsQuery } from '../lib/aggregates/wire';
import { authenticatedRoute } from '../lib/http/handler';
import { resolveDeviceScope } from '../lib/http/principal';
import { json } from '../lib/http/response';
import { recordAudit } from '../lib/readings/audit';
import { parseInput } from '../lib/validation';

// GET /api/iot/aggregates and /api/iot/fields (and /api/rssi/…) for a device's own readings; admins
// use the same routes under /api/devices/{deviceId}/.
export const handler = authenticatedRoute(
  async (request) => {
    const deviceId = resolveDeviceScope(request.principal, request.pathParameters.deviceId);
    const audit = (rows: number) =>
      recordAudit({
        requestId: request.requestId,
        at: Date.now(),
        actor: request.principal.role === 'admin' ? 'admin' : request.principal.deviceId,
        route: `${request.method} ${request.resource}`,
        deviceId,
        rows,
        action: 'query',
      });
    if (request.resource.endsWith('/fields')) {
      const { limit, cursor } = parseInput(fieldsQuery, request.query, 'query');
      const page = await listFields(deviceId, limit, cursor);
      await audit(page.data.length);
      return json(200, page);
    }
    const query = parseInput(aggregatesQuery, request.query, 'query');
    const answer = await queryAggregates({ deviceId, ...query });
    await audit(answer.data.length);
    return json(200, answer);
  },
  { body: 'none' },
);
