// DynamoDB's item size rules (what a write unit is charged on): attribute names plus values, strings as
// UTF-8, binary as raw bytes, numbers about one byte per two significant digits plus one, lists and
// maps 3 bytes plus 1 byte per element. See the DynamoDB developer guide, "Item sizes and formats".
// Used to keep writes within the 400 KB item and 16 MB batch limits, and by the bench for write costs.

function numberBytes(value: number): number {
  const digits = String(Math.abs(value)).replace('.', '').replace(/^0+/, '').replace(/0+$/, '').length;
  return Math.ceil(Math.max(1, digits) / 2) + 1;
}

function valueBytes(value: unknown): number {
  if (value === null || value === undefined) return 1;
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number') return numberBytes(value);
  if (typeof value === 'boolean') return 1;
  if (typeof value === 'bigint') return numberBytes(Number(value));
  if (value instanceof Uint8Array) return value.byteLength;
  if (value instanceof Set) return [...value].reduce((sum: number, member) => sum + valueBytes(member), 0);
  if (Array.isArray(value))
    return 3 + value.reduce((sum: number, element) => sum + 1 + valueBytes(element), 0);
  if (typeof value === 'object')
    return 3 + itemBytes(value as Record<string, unknown>) + Object.keys(value).length;
  return Buffer.byteLength(String(value));
}

export function itemBytes(item: Record<string, unknown>): number {
  let total = 0;
  for (const [name, value] of Object.entries(item)) {
    if (value === undefined) continue;
    total += Buffer.byteLength(name) + valueBytes(value);
  }
  return total;
}

/** Write units for one standard write: one per started KB. */
export const writeUnits = (bytes: number) => Math.max(1, Math.ceil(bytes / 1024));
