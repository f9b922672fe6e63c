import * as z from 'zod';
import { compactAggregates } from '../lib/aggregates/compact';
import { scheduledJob } from '../lib/jobs/handler';

// Every minute (per stage): minute partials of closed hours merged into hour and day summaries.
export const handler = scheduledJob('compact-aggregates', z.strictObject({}), ({ time }) =>
  compactAggregates(time),
);
