import * as z from 'zod';
import { authenticatedRoute } from '../lib/http/handler';
import { requireAdmin } from '../lib/http/principal';
import { json } from '../lib/http/response';
import {
  clearCache,
  loadCacheSettings,
  MAX_CACHE_MB,
  updateCacheSettings,
} from '../lib/images/cache-settings';
import { parseInput } from '../lib/validation';

const settingsBody = z.strictObject({
  capacityMb: z.number().int().min(0).max(MAX_CACHE_MB),
  policy: z.enum(['lru', 'random']),
});

// The image cache's settings (admin): GET, PUT {capacityMb, policy}, POST …/clear.
export const handler = authenticatedRoute(async (request) => {
  requireAdmin(request.principal);
  switch (`${request.method} ${request.resource}`) {
    case 'PUT /api/image-cache':
      return json(200, await updateCacheSettings(parseInput(settingsBody, request.body, 'body')));
    case 'POST /api/image-cache/clear':
      return json(200, await clearCache());
    default:
      return json(200, await loadCacheSettings());
  }
});
