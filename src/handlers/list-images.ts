import { authenticatedRoute } from '../lib/http/handler';
import { json } from '../lib/http/response';
import { listQuery } from '../lib/images/schemas';
import { listImages } from '../lib/images/service';
import { page } from '../lib/pagination';
import { parseInput } from '../lib/validation';

// GET /api/images[?label=cat][&limit=&cursor=]: keys in order, paged; an unknown label is an empty page.
export const handler = authenticatedRoute(
  async (request) => {
    const query = parseInput(listQuery, request.query, 'query');
    const result = await listImages(request.principal, query);
    return json(200, page<(typeof result.items)[number]>(result.items, result.nextCursor));
  },
  { body: 'none' },
);
