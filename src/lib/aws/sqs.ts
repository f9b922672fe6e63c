import { SQSClient } from '@aws-sdk/client-sqs';
import { tracer } from '../observability';
import { clientOptions } from './client-options';

// Created once per container. Endpoint overrides come from AWS_ENDPOINT_URL_SQS offline.
export const sqs = tracer.captureAWSv3Client(new SQSClient(clientOptions));
