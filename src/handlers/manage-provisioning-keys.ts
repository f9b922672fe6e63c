import * as z from 'zod';
import { NotFoundError, ValidationError } from '../lib/errors';
import { authenticatedRoute } from '../lib/http/handler';
import { requireAdmin } from '../lib/http/principal';
import { json } from '../lib/http/response';
import { page } from '../lib/pagination';
import { PROVISIONING_KEY_ID_PATTERN } from '../lib/provisioning/key-format';
import { createProvisioningKey, listProvisioningKeys, revokeProvisioningKey } from '../lib/provisioning/keys';
import { isWellFormedText, parseInput, WELL_FORMED_MESSAGE } from '../lib/validation';

const MAX_LIFETIME_SECONDS = 366 * 86_400;
const creation = z
  .strictObject({
    name: z.string().min(1).max(200).refine(isWellFormedText, WELL_FORMED_MESSAGE),
    maxDevices: z.number().int().min(1).max(100_000),
    /** When the key stops working: an ISO time, or seconds from now. */
    expiresAt: z.iso.datetime({ offset: true }).optional(),
    expiresInSeconds: z.number().int().min(60).max(MAX_LIFETIME_SECONDS).optional(),
  })
  .refine((input) => (input.expiresAt === undefined) !== (input.expiresInSeconds === undefined), {
    message: 'give exactly one of expiresAt and expiresInSeconds',
  });
const keyIdParameter = z.strictObject({
  keyId: z.string().regex(PROVISIONING_KEY_ID_PATTERN, 'not a provisioning key id'),
});
const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().optional(),
});

function expiryOf(input: { expiresAt?: string; expiresInSeconds?: number }): Date {
  const now = Date.now();
  const expiresAt =
    input.expiresAt === undefined
      ? new Date(now + (input.expiresInSeconds ?? 0) * 1000)
      : new Date(input.expiresAt);
  if (expiresAt.getTime() <= now + 60_000 || expiresAt.getTime() > now + MAX_LIFETIME_SECONDS * 1000)
    throw new ValidationError('body.expiresAt: must be between one minute and 366 days from now', {
      field: 'body.expiresAt',
    });
  return expiresAt;
}

// Provisioning keys (admin only): create (the key is in this answer only), list, revoke.
export const handler = authenticatedRoute(async (request) => {
  requireAdmin(request.principal);
  const route = `${request.method} ${request.resource}`;
  const action = { requestId: request.requestId };
  switch (route) {
    case 'POST /api/provisioning-keys': {
      const input = parseInput(creation, request.body, 'body');
      const created = await createProvisioningKey(
        { name: input.name, maxDevices: input.maxDevices, expiresAt: expiryOf(input) },
        action,
      );
      return json(201, created);
    }
    case 'GET /api/provisioning-keys': {
      const { limit, cursor } = parseInput(listQuery, request.query, 'query');
      const result = await listProvisioningKeys(limit, cursor);
      return json(200, page(result.keys, result.next));
    }
    case 'DELETE /api/provisioning-keys/{keyId}': {
      const { keyId } = parseInput(keyIdParameter, request.pathParameters, 'path');
      return json(200, await revokeProvisioningKey(keyId, action));
    }
    default:
      throw new NotFoundError(`No route for ${route}`);
  }
});
