import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { timeCalls } from './call-timings';
import { clientOptions } from './client-options';

// Created once per container: reads SQS's own metrics (the age of the oldest message is not a
// queue attribute). Offline it is never called.
export const cloudwatch = timeCalls(new CloudWatchClient(clientOptions));
