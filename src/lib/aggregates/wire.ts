import * as z from 'zod';
import { FIELD_PATH, MAX_FIELD_PATH_LENGTH } from '../readings/fields';
import { bucketCount, DAY_MS, MAX_BUCKETS, MAX_RANGE_DAYS, STEP_NAMES } from './buckets';

// Query strings of the aggregates routes, validated at the edge.

const instant = z.iso
  .datetime({ offset: true, message: 'expected an ISO-8601 date-time, e.g. 2026-11-30T00:00:00Z' })
  .transform((text) => Date.parse(text));

export const aggregatesQuery = z
  .strictObject({
    field: z
      .string()
      .max(MAX_FIELD_PATH_LENGTH)
      .regex(FIELD_PATH, 'expected a dot path of up to 4 keys of letters, digits, _ and -'),
    from: instant,
    to: instant,
    step: z.enum(STEP_NAMES).optional(),
  })
  .superRefine((query, ctx) => {
    if (query.to <= query.from) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
      return;
    }
    if (query.to - query.from > MAX_RANGE_DAYS * DAY_MS) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: `at most ${MAX_RANGE_DAYS} days after from` });
      return;
    }
    if (query.step && bucketCount(query.from, query.to, query.step) > MAX_BUCKETS) {
      ctx.addIssue({
        code: 'custom',
        path: ['step'],
        message: `gives more than ${MAX_BUCKETS} buckets for this range; use a coarser step or omit it`,
      });
    }
  });

export const fieldsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1_000).default(100),
  cursor: z.string().max(2048).optional(),
});
