import { SQSClient } from '@aws-sdk/client-sqs';
import { timeCalls } from './call-timings';
import { clientOptions } from './client-options';

// Created once per container. Endpoint overrides come from AWS_ENDPOINT_URL_SQS offline.
export const sqs = timeCalls(new SQSClient(clientOptions));
