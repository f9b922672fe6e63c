// The numeric values of a reading's freeform, by dot path: what aggregates and alert rules read.
// Only plain objects are walked (arrays are lists of things, not named values); a path is at most
// MAX_FIELD_DEPTH keys deep and a reading yields at most MAX_FIELDS_PER_READING values, the first ones
// in key order, so a hostile freeform cannot make ingest do unbounded work.

export const MAX_FIELDS_PER_READING = 32;
export const MAX_FIELD_DEPTH = 4;
export const MAX_FIELD_PATH_LENGTH = 128;

/** What a field path looks like: dot-separated keys of letters, digits, `_` and `-`. */
export const FIELD_PATH = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+){0,3}$/;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * `{"rssi": -59, "env": {"temperature": 21.5, "ok": true}}` → `[["rssi", -59], ["env.temperature", 21.5]]`.
 * Numbers only (finite; booleans and numeric strings are not numbers); keys that cannot form a path
 * (a dot, spaces, other characters) are skipped rather than escaped, so a path names one value.
 */
export function numericFields(freeform: unknown, limit = MAX_FIELDS_PER_READING): Array<[string, number]> {
  const fields: Array<[string, number]> = [];
  if (!isPlainObject(freeform)) return fields;
  const walk = (object: Record<string, unknown>, prefix: string, depth: number): boolean => {
    for (const key of Object.keys(object).sort()) {
      if (!/^[A-Za-z0-9_-]+$/.test(key)) continue;
      const path = prefix ? `${prefix}.${key}` : key;
      if (path.length > MAX_FIELD_PATH_LENGTH) continue;
      const value = object[key];
      if (typeof value === 'number' && Number.isFinite(value)) {
        fields.push([path, value]);
        if (fields.length >= limit) return false;
      } else if (isPlainObject(value) && depth < MAX_FIELD_DEPTH) {
        if (!walk(value, path, depth + 1)) return false;
      }
    }
    return true;
  };
  walk(freeform, '', 1);
  return fields;
}

/** The value at a dot path, when it is a finite number. */
export function numericField(freeform: unknown, path: string): number | undefined {
  let value: unknown = freeform;
  for (const key of path.split('.')) {
    if (!isPlainObject(value) || !Object.hasOwn(value, key)) return undefined;
    value = value[key];
  }
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
