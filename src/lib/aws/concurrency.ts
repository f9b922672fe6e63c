/**
 * Maps `items` with at most `limit` calls in flight, results in input order. The first rejection
 * rejects the whole map (calls already started run to completion; no new ones start).
 */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index] as T, index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/** Splits `items`, in order, into groups of at most `maxCount` items and `maxBytes` bytes (an item larger than `maxBytes` goes alone). */
export function groupWithin<T>(
  items: Iterable<T>,
  maxCount: number,
  maxBytes: number,
  bytesOf: (item: T) => number,
): T[][] {
  const groups: T[][] = [];
  let group: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = bytesOf(item);
    if (group.length === maxCount || (group.length > 0 && bytes + size > maxBytes)) {
      groups.push(group);
      group = [];
      bytes = 0;
    }
    group.push(item);
    bytes += size;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}
