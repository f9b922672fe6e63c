import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { logger } from '../lib/logger';
import { observability } from '../lib/observability';
import { CORRELATION_ATTRIBUTE } from '../lib/readings/messages';
import { storeMessages } from '../lib/readings/store';

// Leaves time to answer before the function's timeout: unfinished writes are reported as failures.
const SAFETY_MARGIN_MS = 2_000;

// SQS → DynamoDB. Reports exactly the messages it could not store (ReportBatchItemFailures), so
// only those are redelivered, and the redrive policy dead-letters a message that keeps failing.
export const handler = middy<SQSEvent, SQSBatchResponse, Error, Context>()
  .use(observability())
  .handler(async (event, context) => {
    const messages = event.Records.map((record) => ({
      messageId: record.messageId,
      body: record.body,
      // The API request id travels as a message attribute (ingest sets it).
      correlationId: record.messageAttributes?.[CORRELATION_ATTRIBUTE]?.stringValue ?? record.messageId,
    }));
    logger.appendKeys({
      messageIds: messages.map((message) => message.messageId),
      correlationIds: [...new Set(messages.map((message) => message.correlationId))],
    });
    const failed = await storeMessages(
      messages,
      Date.now() + context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS,
    );
    return { batchItemFailures: failed.map((messageId) => ({ itemIdentifier: messageId })) };
  });
