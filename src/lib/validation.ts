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
function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path
    .map((segment, index) =>
      typeof segment === 'number' ? `[${segment}]` : `${index === 0 ? '' : '.'}${String(segment)}`,
    )
    .join('');
}
