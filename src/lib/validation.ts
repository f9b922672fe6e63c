import type { z } from 'zod';
import { ValidationError } from './errors';

/** Validates input at the edge; the first problem is reported with the path of the field. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what = 'request'): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue?.path.length ? issue.path.map(String).join('.') : what;
  throw new ValidationError(`${path}: ${issue?.message ?? 'invalid'}`, { field: path });
}
