// How compaction cuts an hour's partials into transactions: DynamoDB takes at most 100 items in
// one, and merging partials touches 1 state item + each partial (its tombstone) + per field its hour
// summary, day summary and catalogue entry.

export const MAX_TRANSACTION_ITEMS = 100;

export const transactionItems = (partials: number, fields: number) => 1 + partials + 3 * fields;

/** Greedy groups in order; a partial (≤ 32 fields: 98 items) always fits a group of its own. */
export function packTransactions<T extends { fields: Iterable<string> }>(
  partials: readonly T[],
  limit = MAX_TRANSACTION_ITEMS,
): T[][] {
  const groups: T[][] = [];
  let group: T[] = [];
  let fields = new Set<string>();
  for (const partial of partials) {
    const union = new Set([...fields, ...partial.fields]);
    if (group.length > 0 && transactionItems(group.length + 1, union.size) > limit) {
      groups.push(group);
      group = [];
      fields = new Set(partial.fields);
    } else fields = union;
    group.push(partial);
  }
  if (group.length > 0) groups.push(group);
  return groups;
}
