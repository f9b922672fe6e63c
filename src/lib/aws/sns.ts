import { SNSClient } from '@aws-sdk/client-sns';
import { tracer } from '../observability';
import { clientOptions } from './client-options';

// Created once per container; only the SNS alert sink uses it (offline alerts go to a file).
export const sns = tracer.captureAWSv3Client(new SNSClient(clientOptions));
