import * as z from 'zod';
import { scheduledJob } from '../lib/jobs/handler';
import { intervalFor, rollupScheduled, rollupStats } from '../lib/stats/rollup';

// Every minute (rate per stage): per-device and global statistics of the last whole interval, into
// the stats table and CloudWatch, then intervals missed while nothing ran (bounded). On demand,
// `detail.intervalEnd` re-runs (or backfills) that one interval.
const detail = z.strictObject({ intervalEnd: z.iso.datetime({ offset: true }).optional() });

export const handler = scheduledJob('rollup-stats', detail, ({ time, detail }) =>
  detail.intervalEnd
    ? rollupStats(intervalFor(time.getTime(), Date.parse(detail.intervalEnd)), time)
    : rollupScheduled(intervalFor(time.getTime()), time),
);
