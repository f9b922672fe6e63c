import { SNSClient } from '@aws-sdk/client-sns';
import { timeCalls } from './call-timings';

// Created once per container; only the SNS alert sink uses it (offline alerts go to a file).
export const sns = timeCalls(new SNSClient({ maxAttempts: 3 }));
