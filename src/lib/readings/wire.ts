import * as z from 'zod';
import { config } from '../config';
import { ValidationError } from '../errors';
import { isWellFormedText, parseInput, WELL_FORMED_MESSAGE } from '../validation';

// The IoT Sensor Framework's wire format, kept so existing interrogator clients work unchanged:
// `{"data":{"db_password","relative_time","interrogator_time","freeform"}}`, one or a list.

const INTEGER_STRING = /^\s*[+-]?\d+\s*$/;
// "3/18/2014 10:59:19.123456 AM" (UTC) → epoch microseconds.
const DATE_TIME =
  /^\s*(\d{1,2})\/(\d{1,2})\/(\d{4})\s+(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?\s*([AaPp][Mm])\s*$/;

// Whole microseconds since the epoch are kept as safe integers, so date-times are representable
// only between about 1684 and 2255; anything outside is refused, never moved.
function dateTimeToMicros(text: string): number | undefined {
  const match = DATE_TIME.exec(text);
  if (!match) return undefined;
  const [, month, day, year, hour, minute, second, fraction = '', meridiem = ''] = match;
  const h = Number(hour);
  if (h < 1 || h > 12) return undefined;
  const hours24 = (h % 12) + (meridiem.toLowerCase() === 'pm' ? 12 : 0);
  // Not Date.UTC(year, …): it maps years 0–99 to 1900–1999, so "1/1/0099" would become 1999.
  const date = new Date(0);
  date.setUTCFullYear(Number(year), Number(month) - 1, Number(day));
  date.setUTCHours(hours24, Number(minute), Number(second), 0);
  // Reject dates JavaScript would roll over (2/30, 13/1, 10:61…).
  if (
    date.getUTCFullYear() !== Number(year) ||
    date.getUTCMonth() !== Number(month) - 1 ||
    date.getUTCDate() !== Number(day) ||
    date.getUTCMinutes() !== Number(minute) ||
    date.getUTCSeconds() !== Number(second)
  ) {
    return undefined;
  }
  return date.getTime() * 1000 + Number(fraction.padEnd(6, '0'));
}

/**
 * Safe integers, as numbers or integral strings (or, for interrogator_time, the original date-time
 * format). A number with a fraction (700.9) or a string that is not an integer ("700.9") is refused:
 * it cannot be stored unchanged, and truncating it would change it silently.
 */
function toInteger(value: unknown, allowDateTime: boolean, ctx: z.RefinementCtx): number {
  let result: number | undefined;
  if (typeof value === 'number' && Number.isInteger(value)) result = value;
  else if (typeof value === 'string' && INTEGER_STRING.test(value)) result = Number(value.trim());
  else if (typeof value === 'string' && allowDateTime) result = dateTimeToMicros(value);
  if (result === undefined || !Number.isSafeInteger(result)) {
    ctx.addIssue({
      code: 'custom',
      message: allowDateTime
        ? 'expected an integer, a numeric string or a date-time like "3/18/2014 10:59:19.123456 AM" (whole numbers within ±(2^53−1), date-times 1684–2255)'
        : 'expected an integer or a numeric string (a whole number within ±(2^53−1))',
    });
    return z.NEVER;
  }
  // -0 is stored as 0.
  return result === 0 ? 0 : result;
}

const relativeTime = z.unknown().transform((value, ctx) => toInteger(value, false, ctx));
const interrogatorTime = z.unknown().transform((value, ctx) => toInteger(value, true, ctx));

const freeform = z.unknown().superRefine((value, ctx) => {
  const bytes = Buffer.byteLength(JSON.stringify(value ?? ''));
  if (bytes > config.MAX_FREEFORM_BYTES) {
    ctx.addIssue({
      code: 'custom',
      message: `is ${bytes} bytes of JSON; the limit is ${config.MAX_FREEFORM_BYTES}`,
    });
  }
});

// Kept as sent here; src/lib/devices/passwords.ts normalises it (NFC) before the KDF.
export const dbPassword = z
  .string()
  .max(1024, 'at most 1024 characters')
  .refine(isWellFormedText, WELL_FORMED_MESSAGE)
  .optional();

const readingData = z.object({
  db_password: dbPassword,
  // The original service defaults missing times to -1; clients rely on that.
  relative_time: relativeTime.default(-1),
  interrogator_time: interrogatorTime.default(-1),
  freeform: freeform.default(''),
});

const reading = z.object({ data: readingData });

const readingList = z
  .array(reading)
  .min(1, 'no readings')
  .max(
    config.MAX_READINGS_PER_REQUEST,
    `more than ${config.MAX_READINGS_PER_REQUEST} readings; the limit is ${config.MAX_READINGS_PER_REQUEST} per request`,
  );

type ParsedReading = z.output<typeof reading>;

/** One reading or a list of them; a problem is reported with the item's index and field. */
export function parseIngestBody(body: unknown): ParsedReading[] {
  if (Array.isArray(body)) return parseInput(readingList, body, 'body');
  if (body === null || typeof body !== 'object') {
    throw new ValidationError('body: expected {"data": {…}} or a list of them', { field: 'body' });
  }
  return [parseInput(reading, body, 'body')];
}

export type IncomingReading = {
  relativeTime: number;
  interrogatorTime: number;
  freeform: unknown;
  password: string | undefined;
};

export function toIncomingReadings(body: ParsedReading[]): IncomingReading[] {
  return body.map(({ data }) => ({
    relativeTime: data.relative_time,
    interrogatorTime: data.interrogator_time,
    freeform: data.freeform ?? '',
    // "" was the original default: no password.
    password: data.db_password ? data.db_password : undefined,
  }));
}

/** Query body: optional, `{"data":{"db_password":"…"}}`. */
export const queryBody = z
  .object({ data: z.object({ db_password: dbPassword }).optional() })
  .optional()
  .transform((body) => (body?.data?.db_password ? body.data.db_password : undefined));

const signedInteger = z
  .string()
  .regex(/^-?\d{1,16}$/, 'expected an integer')
  .transform(Number)
  .refine(Number.isSafeInteger, 'out of range');

export const rangeParameters = z.object({
  start: signedInteger.optional(),
  end: signedInteger.optional(),
  seconds: z
    .string()
    .regex(/^\d{1,10}$/, 'expected a whole number of seconds')
    .transform(Number)
    .refine((n) => n >= 1 && n <= 315_360_000, 'between 1 and 315360000 (10 years)')
    .optional(),
});

export const pageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(config.QUERY_MAX_LIMIT).default(config.QUERY_DEFAULT_LIMIT),
  cursor: z.string().max(2048).optional(),
});
