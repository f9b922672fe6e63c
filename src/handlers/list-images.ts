import { authenticatedRoute } from '../lib/http/handler';
import { json } from '../lib/http/response';
import { listQuery } from '../lib/images/schemas';
import { listImages } from '../lib/images/service';
import { parseInput } from '../lib/validation';

// GET /api/images[?label=cat][&limit=&cursor=]: keys in order, paged; an unknown label is an empty page.
export const handler = authenticatedRoute(
  async (request) => {
    const query = parseInput(listQuery, request.query, 'query');
    const page = await listImages(request.principal, query);
    return json(200, { data: page.items, ...(page.nextCursor ? { next: page.nextCursor } : {}) });
  },
  { body: 'none' },
);
