import * as z from 'zod';
import {
  changeRule,
  createRule,
  deleteRule,
  getRule,
  listRules,
  newRuleSchema,
  RULE_ID_PATTERN,
  ruleChangeSchema,
} from '../lib/alerts/rules';
import { NotFoundError } from '../lib/errors';
import { authenticatedRoute } from '../lib/http/handler';
import { requireAdmin } from '../lib/http/principal';
import { json } from '../lib/http/response';
import { page } from '../lib/pagination';
import { parseInput } from '../lib/validation';

const ruleIdParameter = z.strictObject({ ruleId: z.string().regex(RULE_ID_PATTERN, 'not an alert rule id') });
const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().optional(),
});
// The version a change is based on, as `If-Match: 3` or `If-Match: "3"` (the rule's `version`).
const ifMatch = z
  .string()
  .regex(/^"?[1-9]\d{0,8}"?$/, 'the version of the rule the change is based on')
  .transform((value) => Number(value.replaceAll('"', '')))
  .optional();

// Alert rules on values (admin only): create, list, show, change, delete. Changes are audited.
export const handler = authenticatedRoute(async (request) => {
  requireAdmin(request.principal);
  const route = `${request.method} ${request.resource}`;
  const who = { requestId: request.requestId, actor: 'admin', route };
  switch (route) {
    case 'POST /api/alert-rules':
      return json(201, await createRule(parseInput(newRuleSchema, request.body, 'body'), who));
    case 'GET /api/alert-rules': {
      const { limit, cursor } = parseInput(listQuery, request.query, 'query');
      const result = await listRules(limit, cursor);
      return json(200, page(result.rules, result.next));
    }
    case 'GET /api/alert-rules/{ruleId}': {
      const { ruleId } = parseInput(ruleIdParameter, request.pathParameters, 'path');
      return json(200, await getRule(ruleId));
    }
    case 'PATCH /api/alert-rules/{ruleId}': {
      const { ruleId } = parseInput(ruleIdParameter, request.pathParameters, 'path');
      const change = parseInput(ruleChangeSchema, request.body, 'body');
      const version = parseInput(ifMatch, request.headers['if-match'], 'If-Match');
      return json(200, await changeRule(ruleId, change, who, version));
    }
    case 'DELETE /api/alert-rules/{ruleId}': {
      const { ruleId } = parseInput(ruleIdParameter, request.pathParameters, 'path');
      const version = parseInput(ifMatch, request.headers['if-match'], 'If-Match');
      return json(200, await deleteRule(ruleId, who, version));
    }
    default:
      throw new NotFoundError(`No route for ${route}`);
  }
});
