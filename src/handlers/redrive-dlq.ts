import * as z from 'zod';
import { config } from '../lib/config';
import { scheduledJob } from '../lib/jobs/handler';
import { redriveDeadLetters } from '../lib/queues/redrive';

// Daily, and on demand: dead-lettered readings messages back to the readings queue, at most
// REDRIVE_MAX_PER_RUN per run (on demand, `detail.maxMessages` lowers or raises that bound).
const detail = z.strictObject({ maxMessages: z.number().int().min(1).max(10_000).optional() });

export const handler = scheduledJob('redrive-dlq', detail, ({ detail }) =>
  redriveDeadLetters({
    deadLetterQueueUrl: config.READINGS_DLQ_URL,
    sourceQueueUrl: config.READINGS_QUEUE_URL,
    max: detail.maxMessages ?? config.REDRIVE_MAX_PER_RUN,
  }),
);
