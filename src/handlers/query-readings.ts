import { ValidationError } from '../lib/errors';
import { authenticatedRoute } from '../lib/http/handler';
import { resolveDeviceScope } from '../lib/http/principal';
import { json } from '../lib/http/response';
import { maxRelativeTime } from '../lib/readings/activity';
import { recordAudit } from '../lib/readings/audit';
import { queryReadings, type Window } from '../lib/readings/query';
import { pageQuery, queryBody, rangeParameters } from '../lib/readings/wire';
import { parseInput } from '../lib/validation';

function windowOf(parameters: { start?: number; end?: number; seconds?: number }): Window {
  if (parameters.seconds !== undefined) return { kind: 'recent', seconds: parameters.seconds };
  if (parameters.start !== undefined && parameters.end !== undefined) {
    if (parameters.end < parameters.start)
      throw new ValidationError('end: must not be before start', { field: 'end' });
    return { kind: 'between', start: parameters.start, end: parameters.end };
  }
  if (parameters.start !== undefined) return { kind: 'since', start: parameters.start };
  return { kind: 'all' };
}

// POST /api/iot[/{start}[/{end}]], POST /api/iot/seconds/{seconds}, GET /api/iot/maxtime (and /api/rssi),
// for a device's own readings; admins use the same routes under /api/devices/{deviceId}/.
export const handler = authenticatedRoute(async (request) => {
  const deviceId = resolveDeviceScope(request.principal, request.pathParameters.deviceId);
  const route = `${request.method} ${request.resource}`;
  const audit = (rows: number) =>
    recordAudit({
      requestId: request.requestId,
      at: Date.now(),
      actor: request.principal.role === 'admin' ? 'admin' : request.principal.deviceId,
      route,
      deviceId,
      rows,
      action: 'query',
    });

  if (request.resource.endsWith('/maxtime')) {
    const max = await maxRelativeTime(deviceId);
    await audit(max === null ? 0 : 1);
    return json(200, { data: [{ max_relative_timestamp: max }] });
  }
  const window = windowOf(parseInput(rangeParameters, request.pathParameters, 'path'));
  const password = parseInput(queryBody, request.body, 'body');
  const { limit, cursor } = parseInput(pageQuery, request.query, 'query');
  const page = await queryReadings({ deviceId, window, password, limit, cursor });
  await audit(page.data.length);
  return json(200, page);
});
