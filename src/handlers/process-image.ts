import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { S3Event } from 'aws-lambda';
import { labeller } from '../lib/images/labellers';
import { processUploadEvent } from '../lib/images/process';
import { logger } from '../lib/logger';

// s3:ObjectCreated on uploads/: every record of the event becomes thumbnails, labels and metadata.
export const handler = middy<S3Event>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async (event) => processUploadEvent(event, labeller));
