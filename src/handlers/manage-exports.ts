import * as z from 'zod';
import { ValidationError } from '../lib/errors';
import { ALL_DEVICES } from '../lib/exports/jobs';
import { exportStatus, requestExport } from '../lib/exports/service';
import { authenticatedRoute } from '../lib/http/handler';
import { resolveDeviceScope } from '../lib/http/principal';
import { json } from '../lib/http/response';
import { dbPassword } from '../lib/readings/wire';
import { parseInput } from '../lib/validation';

const relativeTime = z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER);

// The window is the readings API's relative-time one: start and end inclusive, either left out.
const exportBody = z.strictObject({
  format: z.enum(['csv', 'parquet']),
  start: relativeTime.optional(),
  end: relativeTime.optional(),
  db_password: dbPassword.optional(),
  /** Administrators: the device to export, or allDevices. */
  deviceId: z.string().min(1).max(128).optional(),
  allDevices: z.literal(true).optional(),
});

const exportPath = z.strictObject({ id: z.uuid() });

// POST /api/exports → 202 {"id"}; GET /api/exports/{id} → its status and, when done, download URLs.
// A device exports its own readings; an administrator names a device or asks for all of them.
export const handler = authenticatedRoute(async (request) => {
  const { principal } = request;
  if (request.method === 'GET') {
    const { id } = parseInput(exportPath, request.pathParameters, 'path');
    return json(200, await exportStatus(principal, id));
  }
  const body = parseInput(exportBody, request.body ?? {}, 'body');
  if (body.start === undefined && body.end !== undefined) {
    throw new ValidationError('start: required when end is given', { field: 'start' });
  }
  if (body.allDevices && (principal.role !== 'admin' || body.deviceId !== undefined)) {
    throw new ValidationError('allDevices: for administrators, instead of deviceId', { field: 'allDevices' });
  }
  if (body.allDevices && body.db_password) {
    throw new ValidationError('db_password: applies to one device; export it alone', {
      field: 'db_password',
    });
  }
  const device = body.allDevices ? ALL_DEVICES : resolveDeviceScope(principal, body.deviceId);
  const created = await requestExport({
    principal,
    requestId: request.requestId,
    device,
    format: body.format,
    window: { start: body.start, end: body.end },
    // "" means no password, as on the query routes.
    password: body.db_password ? body.db_password : undefined,
  });
  return json(202, created);
});
