import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { logger } from '../lib/logger';
import { storeMessages } from '../lib/readings/store';

// Leaves time to answer before the function's timeout: unfinished writes are reported as failures.
const SAFETY_MARGIN_MS = 2_000;

// SQS → DynamoDB. Reports exactly the messages it could not store (ReportBatchItemFailures), so
// only those are redelivered, and the redrive policy dead-letters a message that keeps failing.
export const handler = middy<SQSEvent, SQSBatchResponse, Error, Context>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async (event, context) => {
    logger.appendKeys({ messageIds: event.Records.map((record) => record.messageId) });
    const failed = await storeMessages(
      event.Records.map((record) => ({ messageId: record.messageId, body: record.body })),
      Date.now() + context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS,
    );
    return { batchItemFailures: failed.map((messageId) => ({ itemIdentifier: messageId })) };
  });
