import * as z from 'zod';
import { publicRoute } from '../lib/http/handler';
import { json } from '../lib/http/response';
import { provisionDevice } from '../lib/provisioning/provision';
import { isWellFormedText, parseInput, WELL_FORMED_MESSAGE } from '../lib/validation';

const deviceDetails = z
  .strictObject({
    name: z.string().min(1).max(200).refine(isWellFormedText, WELL_FORMED_MESSAGE).optional(),
    expectedIntervalSeconds: z.number().int().min(1).max(31_536_000).optional(),
  })
  .default({});
// A retry's device and token derive from it: a random value the device keeps (a UUID), never a serial number.
const idempotencyHeader = z.strictObject({
  'idempotency-key': z
    .string()
    .regex(/^[A-Za-z0-9_-]{16,128}$/, '16 to 128 letters, digits, - or _ (a random value such as a UUID)')
    .optional(),
});

// POST /api/provision (public: the provisioning key in `Authorization: Bearer` is the credential,
// checked, rate-limited and audited by src/lib/provisioning/provision.ts) → the new device and its token.
export const handler = publicRoute(async (request) => {
  const device = parseInput(deviceDetails, request.body, 'body');
  const { 'idempotency-key': idempotencyKey } = parseInput(
    idempotencyHeader,
    { 'idempotency-key': request.headers['idempotency-key'] },
    'headers',
  );
  const result = await provisionDevice({
    authorization: request.headers.authorization,
    idempotencyKey,
    device,
    sourceIp: request.sourceIp,
    requestId: request.requestId,
  });
  return json(
    201,
    { ...result.device, token: result.token },
    result.replayed ? { 'idempotent-replayed': 'true' } : {},
  );
});
