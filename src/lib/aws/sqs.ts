import { SQSClient } from '@aws-sdk/client-sqs';

// Created once per container. Endpoint overrides come from AWS_ENDPOINT_URL_SQS offline.
export const sqs = new SQSClient({ maxAttempts: 3 });
