import * as z from 'zod';
import { authenticatedRoute } from '../lib/http/handler';
import { binary } from '../lib/http/response';
import { imageContent } from '../lib/images/content';
import { imageKeyPath } from '../lib/images/schemas';
import { parseInput } from '../lib/validation';

const contentQuery = z.strictObject({
  size: z.union([z.literal('original'), z.coerce.number().int().min(16).max(4096)]).default(512),
});

// GET /api/images/{key}/content?size=128|512|1024|original: the bytes, through the container's cache.
export const handler = authenticatedRoute(
  async (request) => {
    const { key } = parseInput(imageKeyPath, request.pathParameters, 'path');
    const { size } = parseInput(contentQuery, request.query, 'query');
    const content = await imageContent(request.principal, key, size);
    return binary(content.body, content.contentType, { 'x-cache': content.cache });
  },
  { body: 'none' },
);
