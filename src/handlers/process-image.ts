import middy from '@middy/core';
import type { S3Event } from 'aws-lambda';
import { labeller } from '../lib/images/labellers';
import { processUploadEvent } from '../lib/images/process';
import { observability } from '../lib/observability';

// s3:ObjectCreated on uploads/: every record of the event becomes thumbnails, labels and metadata.
export const handler = middy<S3Event>()
  .use(observability())
  .handler(async (event) => processUploadEvent(event, labeller));
