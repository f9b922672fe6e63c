import * as z from 'zod';
import { ForbiddenError } from '../lib/errors';
import { authenticatedRoute } from '../lib/http/handler';
import { json } from '../lib/http/response';
import { acceptReadings } from '../lib/readings/ingest';
import { parseIngestBody, toIncomingReadings } from '../lib/readings/wire';
import { parseInput } from '../lib/validation';

const idempotencyKey = z
  .string()
  .regex(/^[\x21-\x7e]{1,128}$/, 'printable ASCII, at most 128 characters')
  .optional();

// PUT /api/iot, PUT /api/rssi (and POST …/readings): the original service's insert.
export const handler = authenticatedRoute(async (request) => {
  if (request.principal.role !== 'device')
    throw new ForbiddenError('Readings are written by devices, with their own token');
  const readings = toIncomingReadings(parseIngestBody(request.body));
  const { ids, clockSkew } = await acceptReadings({
    deviceId: request.principal.deviceId,
    actor: request.principal.deviceId,
    route: `${request.method} ${request.resource}`,
    requestId: request.requestId,
    readings,
    idempotencyKey: parseInput(idempotencyKey, request.headers['idempotency-key'], 'Idempotency-Key'),
  });
  const { flagged, offsetMs, windowSeconds } = clockSkew;
  // Only when a reading was outside the window: otherwise the original service's answer, unchanged.
  const skew = flagged.length > 0 ? { clockSkew: { flagged, offsetMs, windowSeconds } } : {};
  return json(202, { success: `${ids.length} object(s) accepted`, ids, ...skew });
});
