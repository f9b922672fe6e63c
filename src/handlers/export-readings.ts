import middy from '@middy/core';
import type { Context, SQSEvent } from 'aws-lambda';
import * as z from 'zod';
import { runExport } from '../lib/exports/run';
import { logger } from '../lib/logger';
import { observability } from '../lib/observability';

// The exports queue's maxReceiveCount (infra/resources/exports.yml): the attempt that must end the job.
const ATTEMPTS = 3;

const message = z.object({ exportId: z.uuid() });

// SQS (batch size 1) → one export written to S3. The message carries the export's id only.
export const handler = middy<SQSEvent, void, Error, Context>()
  .use(observability())
  .handler(async (event) => {
    for (const record of event.Records) {
      const parsed = message.safeParse(JSON.parse(record.body));
      if (!parsed.success) {
        logger.error('malformed export message dropped', { messageId: record.messageId });
        continue;
      }
      logger.appendKeys({ exportId: parsed.data.exportId });
      const receives = Number(record.attributes.ApproximateReceiveCount);
      await runExport(parsed.data.exportId, receives >= ATTEMPTS);
    }
  });
