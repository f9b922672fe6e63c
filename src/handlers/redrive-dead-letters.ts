import * as z from 'zod';
import { config } from '../lib/config';
import { authenticatedRoute } from '../lib/http/handler';
import { requireAdmin } from '../lib/http/principal';
import { json } from '../lib/http/response';
import { redriveDeadLetters } from '../lib/queues/redrive';
import { parseInput } from '../lib/validation';

// At most this many per request: the move must finish well inside API Gateway's 29 s.
const MAX_PER_REQUEST = 100;
const body = z
  .strictObject({ maxMessages: z.number().int().min(1).max(MAX_PER_REQUEST).optional() })
  .optional();

// POST /api/dead-letters/redrive (admin): what the daily redrive-dlq job does, now (the console's button).
export const handler = authenticatedRoute(async (request) => {
  requireAdmin(request.principal);
  const { maxMessages } = parseInput(body, request.body, 'body') ?? {};
  const report = await redriveDeadLetters({
    deadLetterQueueUrl: config.READINGS_DLQ_URL,
    sourceQueueUrl: config.READINGS_QUEUE_URL,
    max: maxMessages ?? MAX_PER_REQUEST,
  });
  return json(200, report);
});
