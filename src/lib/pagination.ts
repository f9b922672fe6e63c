import type * as z from 'zod';
import { ValidationError } from './errors';

// Cursors are opaque to clients: base64url JSON of a position (DynamoDB's LastEvaluatedKey or one of
// our own). A cursor coming back is checked against the shape its query produces, and the query
// always takes its partition from the caller's identity, never from the cursor.
export function encodeCursor(position: Record<string, unknown> | undefined): string | undefined {
  return position ? Buffer.from(JSON.stringify(position)).toString('base64url') : undefined;
}

// A forged or stale cursor must be a 400, never a DynamoDB ValidationException (500): shapes are
// strict about every key they carry (non-empty, bounded, the format the table writes), and routes
// check that a position lies inside the query it is resumed in (cursorOutsideQuery).
export const MAX_CURSOR_CHARS = 2048;

export const invalidCursor = () =>
  new ValidationError('cursor: not a cursor this route returned', { field: 'cursor' });

/** For a cursor whose position does not belong to the query it came back with (another window…). */
export const cursorOutsideQuery = () =>
  new ValidationError('cursor: belongs to a different query; start again without it', { field: 'cursor' });

export function decodeCursor<S extends z.ZodType>(
  cursor: string | undefined,
  shape: S,
): z.output<S> | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  if (cursor.length > MAX_CURSOR_CHARS || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalidCursor();
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  const parsed = shape.safeParse(value);
  if (!parsed.success) throw invalidCursor();
  return parsed.data;
}

/** The one shape of every list the API answers: `{"data":[…],"next":"…"}`, `next` only when there is more. */
export interface Page<T> {
  data: T[];
  next?: string;
}

export const page = <T>(data: T[], next: string | undefined): Page<T> => (next ? { data, next } : { data });
