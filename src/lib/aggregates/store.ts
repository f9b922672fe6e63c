import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { batchGet } from '../aws/batch';
import { dynamo } from '../aws/dynamo';
import { queryPages } from '../aws/paging';
import { defaultRetryPolicy, retryRemaining } from '../aws/retry';
import { config } from '../config';
import { dataKeyById } from '../crypto/data-keys';
import { UnavailableError } from '../errors';
import { logger } from '../logger';
import { count, MetricName } from '../observability';
import { STATE_SORT_KEY } from './keys';
import type { SealedItem } from './sealed';

// Reads shared by compaction and queries.

export const AGGREGATE_KEY = ['deviceId', 'sk'] as const;

/**
 * The partials of a device not compacted yet, with minutes in the sort-key range: listed from the
 * sparse `pending` index (no tombstones in it), then read strongly consistently from the table, so one
 * compacted since the index was read is seen as such and left out.
 */
export async function livePartials(
  deviceId: string,
  range: { from: string; to: string },
  limit?: number,
): Promise<SealedItem[]> {
  const wanted: Array<Record<string, unknown>> = [];
  for await (const { items } of queryPages({
    TableName: config.AGGREGATES_TABLE,
    IndexName: 'pending',
    KeyConditionExpression: 'pending = :device AND sk BETWEEN :from AND :to',
    ExpressionAttributeValues: { ':device': deviceId, ':from': range.from, ':to': range.to },
  })) {
    wanted.push(...items);
    if (limit !== undefined && wanted.length >= limit) {
      wanted.length = limit;
      break;
    }
  }
  if (wanted.length === 0) return [];
  const items = (await batchGet(
    config.AGGREGATES_TABLE,
    wanted.map(({ sk }) => ({ deviceId, sk })),
    AGGREGATE_KEY,
    { consistentRead: true },
  )) as unknown as Array<SealedItem & { pending?: string }>;
  return items.filter((item) => item.pending !== undefined).sort((a, b) => (a.sk < b.sk ? -1 : 1));
}

/** The data key an item names; a key that cannot be had now is a retryable 503, never a wrong answer. */
export async function dataKeyOf(item: SealedItem): Promise<Buffer> {
  try {
    return await dataKeyById(item.kid);
  } catch (error) {
    logger.warn('data key not available', { keyId: item.kid, errorName: (error as Error).name });
    throw new UnavailableError(
      'A key needed to read these aggregates is not available yet; retry the request',
    );
  }
}

/** Opens an item, or reports it (logged, counted: an alarm watches DecryptFailures) and answers undefined. */
export async function openOrReport<T>(item: SealedItem, open: (key: Buffer) => T): Promise<T | undefined> {
  const key = await dataKeyOf(item);
  try {
    return open(key);
  } catch (error) {
    logger.error('aggregate item failed authentication', { sk: item.sk, errorName: (error as Error).name });
    count(MetricName.DecryptFailures);
    return undefined;
  }
}

/** How many compaction transactions a device has had (each one adds 1). */
async function compactions(deviceId: string): Promise<number> {
  const { Item } = await dynamo.send(
    new GetCommand({
      TableName: config.AGGREGATES_TABLE,
      Key: { deviceId, sk: STATE_SORT_KEY },
      ConsistentRead: true,
    }),
  );
  return (Item?.v as number | undefined) ?? 0;
}

/**
 * Runs reads of summaries and partials as one snapshot: every read strongly consistent (partials
 * listed by the index are re-read from the table) and made between two reads of the device's
 * compaction count. Unchanged, no compaction committed in between, so each partial was either merged
 * before all the reads or pending throughout: counted exactly once. Changed, everything is read again.
 */
export async function snapshot<T>(deviceId: string, read: () => Promise<T>): Promise<T> {
  let result: { value: T } | undefined;
  await retryRemaining(
    [deviceId],
    async () => {
      const before = await compactions(deviceId);
      const value = await read();
      if ((await compactions(deviceId)) !== before) return [deviceId];
      result = { value };
      return [];
    },
    { ...defaultRetryPolicy, attempts: 4 },
  );
  if (!result) throw new UnavailableError('Aggregates are being compacted; retry the request');
  return result.value;
}
