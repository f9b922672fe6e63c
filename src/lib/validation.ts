import type * as z from 'zod';
import { ValidationError } from './errors';

/** Validates input at the edge; the first problem is reported with the path of the field. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what = 'request'): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue?.path.length ? formatPath(issue.path) : what;
  throw new ValidationError(`${path}: ${issue?.message ?? 'invalid'}`, { field: path });
}

/** `[3].data.relative_time` for an item of a list, `data.relative_time` for an object. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path
    .map((segment, index) =>
      typeof segment === 'number' ? `[${segment}]` : `${index === 0 ? '' : '.'}${String(segment)}`,
    )
    .join('');
}

/**
 * False for strings with a lone surrogate: UTF-8 (DynamoDB, KDF input, SDK calls) cannot carry it and
 * would silently replace it with U+FFFD, turning distinct inputs into the same stored value.
 */
export const isWellFormedText = (text: string): boolean => !/\p{Cs}/u.test(text);
export const WELL_FORMED_MESSAGE = 'must be valid Unicode text (no unpaired surrogates)';
