import * as z from 'zod';
import { numericFields } from '../readings/fields';
import { readingTimeMs } from '../readings/reading-time';
import { MINUTE_MS } from './buckets';

// What every level stores per field and time slot: count, min, max, sum. Merging two is exact in
// count, min and max and adds sums, so partials can be merged in any order and any grouping.
export type Stat = [count: number, min: number, max: number, sum: number];

export const statSchema = z.tuple([z.number().int().positive(), z.number(), z.number(), z.number()]);

export const statOf = (value: number): Stat => [1, value, value, value];

export function mergeStat(into: Stat | undefined, other: Stat): Stat {
  if (!into) return [other[0], other[1], other[2], other[3]];
  return [into[0] + other[0], Math.min(into[1], other[1]), Math.max(into[2], other[2]), into[3] + other[3]];
}

/**
 * Distinct fields one message contributes to one minute. A compaction transaction holds a partial
 * with its hour, day and catalogue items per field (1 + 3 × 32 + state ≤ 100, DynamoDB's limit), so a
 * partial always fits one transaction. Fields past it in that minute are not aggregated (counted).
 */
export const MAX_FIELDS_PER_PARTIAL = 32;

/** One message's contribution to one minute: field path → stat. */
export type Partial = Map<string, Stat>;

export interface ReadingForAggregates {
  interrogatorTime: number;
  freeform: unknown;
}

/**
 * The minute partials of a request's readings: each reading at its time (readingTimeMs), its numeric
 * fields (numericFields: at most 32 per reading, depth 4), per minute and field.
 */
export function minutePartials(
  readings: readonly ReadingForAggregates[],
  arrivedAt: number,
): { partials: Map<number, Partial>; dropped: number } {
  const partials = new Map<number, Partial>();
  let dropped = 0;
  for (const reading of readings) {
    const minute = Math.floor(readingTimeMs(reading.interrogatorTime, arrivedAt) / MINUTE_MS) * MINUTE_MS;
    for (const [field, value] of numericFields(reading.freeform)) {
      let partial = partials.get(minute);
      if (!partial) {
        partial = new Map();
        partials.set(minute, partial);
      }
      if (!partial.has(field) && partial.size >= MAX_FIELDS_PER_PARTIAL) {
        dropped += 1;
        continue;
      }
      partial.set(field, mergeStat(partial.get(field), statOf(value)));
    }
  }
  return { partials, dropped };
}
