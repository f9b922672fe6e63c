import * as z from 'zod';
import { authenticatedRoute } from '../lib/http/handler';
import { requireAdmin } from '../lib/http/principal';
import { json } from '../lib/http/response';
import { page } from '../lib/pagination';
import { listAudit } from '../lib/readings/audit';
import { parseInput } from '../lib/validation';

const auditQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  days: z.coerce.number().int().min(1).max(400).default(30),
  cursor: z.string().max(2048).optional(),
});

// GET /api/audit (admin): who wrote or queried what, newest first.
export const handler = authenticatedRoute(
  async (request) => {
    requireAdmin(request.principal);
    const { limit, days, cursor } = parseInput(auditQuery, request.query, 'query');
    const result = await listAudit(limit, days, cursor);
    return json(200, page(result.data, result.next));
  },
  { body: 'none' },
);
