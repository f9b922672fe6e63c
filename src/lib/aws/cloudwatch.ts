import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { timeCalls } from './call-timings';

// Created once per container: reads SQS's own metrics (the age of the oldest message is not a
// queue attribute). Offline it is never called.
export const cloudwatch = timeCalls(new CloudWatchClient({ maxAttempts: 3 }));
