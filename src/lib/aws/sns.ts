import { SNSClient } from '@aws-sdk/client-sns';
import { timeCalls } from './call-timings';
import { clientOptions } from './client-options';

// Created once per container; only the SNS alert sink uses it (offline alerts go to a file).
export const sns = timeCalls(new SNSClient(clientOptions));
