import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { logger } from '../logger';
import { observability } from '../observability';
import { parseInput } from '../validation';

// The wrapper of every scheduled job: EventBridge's scheduled event (or the same shape from
// `npm run job`, or `serverless invoke`), validated, with the observability middlewares. The event's
// `detail` carries a job's on-demand options; a scheduled run has none. A job that throws fails the
// invocation, which Lambda counts as an error and EventBridge retries.
const scheduledEvent = z.object({
  id: z.string().max(200).optional(),
  time: z.iso.datetime({ offset: true }).optional(),
  detail: z.record(z.string(), z.unknown()).optional(),
});

export interface JobInput<D> {
  /** When the run was scheduled (the event's time), else now. */
  time: Date;
  detail: D;
}

export function scheduledJob<S extends z.ZodType, R>(
  name: string,
  detailSchema: S,
  run: (input: JobInput<z.output<S>>) => Promise<R>,
) {
  return middy<unknown, R, Error, Context>()
    .use(observability())
    .handler(async (event, context) => {
      const parsed = parseInput(scheduledEvent, event ?? {}, 'event');
      logger.appendKeys({ job: name, correlationId: parsed.id ?? context.awsRequestId });
      const detail = parseInput(detailSchema, parsed.detail ?? {}, 'detail');
      const time = parsed.time ? new Date(parsed.time) : new Date();
      const started = Date.now();
      const result = await run({ time, detail });
      logger.info('job finished', { durationMs: Date.now() - started });
      return result;
    });
}
