import * as z from 'zod';
import { scheduledJob } from '../lib/jobs/handler';
import { intervalFor, rollupStats } from '../lib/stats/rollup';

// Every minute (rate per stage): per-device and global statistics of the last whole interval, into
// the stats table and CloudWatch. On demand, `detail.intervalEnd` re-runs (or backfills) an interval.
const detail = z.strictObject({ intervalEnd: z.iso.datetime({ offset: true }).optional() });

export const handler = scheduledJob('rollup-stats', detail, ({ time, detail }) =>
  rollupStats(
    intervalFor(time.getTime(), detail.intervalEnd ? Date.parse(detail.intervalEnd) : undefined),
    time,
  ),
);
