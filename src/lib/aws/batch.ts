import { BatchGetCommand, BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { UnavailableError } from '../errors';
import { logger } from '../logger';
import { groupWithin, mapConcurrent } from './concurrency';
import { dynamo } from './dynamo';
import { itemBytes } from './item-size';
import { defaultRetryPolicy, type RetryPolicy, retryRemaining } from './retry';

// DynamoDB's batch APIs within every limit they have: BatchWriteItem 25 requests and 16 MB, items
// ≤ 400 KB; BatchGetItem 100 keys and 16 MB of response (the rest comes back as UnprocessedKeys);
// neither accepts the same key twice in one call. Unprocessed items and keys, and throttled calls,
// are retried with backoff; what still fails is reported, never dropped.

export const MAX_BATCH_WRITE_ITEMS = 25;
export const MAX_BATCH_GET_KEYS = 100;
export const MAX_ITEM_BYTES = 400 * 1024;
const MAX_BATCH_WRITE_BYTES = 16 * 1024 * 1024;

type Item = Record<string, unknown>;

/** One put, with the names of its table's key attributes (to match unprocessed items back). */
export interface PutWrite {
  table: string;
  item: Item;
  keyAttributes: readonly string[];
}

const keyString = (table: string, item: Item, keyAttributes: readonly string[]) =>
  `${table}\n${keyAttributes.map((name) => JSON.stringify(item[name] ?? null)).join('\n')}`;

export interface BatchOptions {
  /** Epoch ms after which no retry starts. */
  deadline?: number;
  /** Calls in flight at once. */
  concurrency?: number;
  retry?: Partial<RetryPolicy>;
}

/**
 * Puts every item; returns the writes that could not be made (after retries, or past the deadline).
 * Writes to the same key are made once (the last one wins); if that fails, every write naming the key
 * is returned. An item over 400 KB is never sent (DynamoDB would refuse the whole call): it is
 * returned as unwritten.
 */
export async function batchPut(writes: readonly PutWrite[], options: BatchOptions = {}): Promise<PutWrite[]> {
  const byKey = new Map<string, { write: PutWrite; all: PutWrite[]; bytes: number }>();
  const keyAttributesOf = new Map<string, readonly string[]>();
  const oversize: PutWrite[] = [];
  for (const write of writes) {
    keyAttributesOf.set(write.table, write.keyAttributes);
    const bytes = itemBytes(write.item);
    if (bytes > MAX_ITEM_BYTES) {
      logger.error('item over the DynamoDB item limit', { table: write.table, bytes });
      oversize.push(write);
      continue;
    }
    const key = keyString(write.table, write.item, write.keyAttributes);
    const existing = byKey.get(key);
    if (existing) {
      existing.write = write;
      existing.all.push(write);
    } else byKey.set(key, { write, all: [write], bytes });
  }
  const chunks = groupWithin(
    byKey.keys(),
    MAX_BATCH_WRITE_ITEMS,
    MAX_BATCH_WRITE_BYTES,
    (key) => byKey.get(key)?.bytes ?? 0,
  );

  const policy = { ...defaultRetryPolicy, attempts: 8, ...options.retry, deadline: options.deadline };
  const unwritten = await mapConcurrent(chunks, options.concurrency ?? 4, async (keys) => {
    try {
      const left = await retryRemaining(
        keys,
        async (pending, abortSignal) => {
          const requestItems: Record<string, Array<{ PutRequest: { Item: Item } }>> = {};
          for (const key of pending) {
            const { write } = byKey.get(key) as { write: PutWrite };
            const requests = requestItems[write.table] ?? [];
            requests.push({ PutRequest: { Item: write.item } });
            requestItems[write.table] = requests;
          }
          const output = await dynamo.send(new BatchWriteCommand({ RequestItems: requestItems }), {
            abortSignal,
          });
          const unprocessed = new Set<string>();
          for (const [table, requests] of Object.entries(output.UnprocessedItems ?? {})) {
            const attributes = keyAttributesOf.get(table) ?? [];
            for (const request of requests) {
              const item = request.PutRequest?.Item;
              if (item) unprocessed.add(keyString(table, item, attributes));
            }
          }
          return pending.filter((key) => unprocessed.has(key));
        },
        policy,
      );
      if (left.length > 0)
        logger.warn('batch write left unprocessed items after retries', { requests: left.length });
      return left;
    } catch (error) {
      logger.error('batch write failed', { errorName: (error as Error).name, requests: keys.length });
      return keys;
    }
  });
  return [...oversize, ...unwritten.flat().flatMap((key) => byKey.get(key)?.all ?? [])];
}

/**
 * Every item of `keys` that exists (in no particular order), read 100 keys at a time with duplicate
 * keys removed. Throws UnavailableError (a retryable 503) when DynamoDB keeps keys unprocessed or the
 * call keeps failing transiently: an answer is complete or it is an error, never silently smaller.
 */
export async function batchGet(
  table: string,
  keys: readonly Item[],
  keyAttributes: readonly string[],
  options: BatchOptions & {
    projection?: string;
    names?: Record<string, string>;
    consistentRead?: boolean;
  } = {},
): Promise<Item[]> {
  const unique = new Map<string, Item>();
  for (const key of keys) unique.set(keyString(table, key, keyAttributes), key);
  const all = [...unique.values()];
  const chunks: Item[][] = [];
  for (let index = 0; index < all.length; index += MAX_BATCH_GET_KEYS)
    chunks.push(all.slice(index, index + MAX_BATCH_GET_KEYS));
  const policy = { ...defaultRetryPolicy, ...options.retry, deadline: options.deadline };
  const pages = await mapConcurrent(chunks, options.concurrency ?? 4, async (chunk) => {
    const items: Item[] = [];
    // A 16 MB answer leaves keys unprocessed by design: only calls without progress count as attempts.
    const left = await retryRemaining(
      chunk,
      async (pending, abortSignal) => {
        const output = await dynamo.send(
          new BatchGetCommand({
            RequestItems: {
              [table]: {
                Keys: [...pending],
                ...(options.projection ? { ProjectionExpression: options.projection } : {}),
                ...(options.names ? { ExpressionAttributeNames: options.names } : {}),
                ...(options.consistentRead ? { ConsistentRead: true } : {}),
              },
            },
          }),
          { abortSignal },
        );
        items.push(...((output.Responses?.[table] ?? []) as Item[]));
        return (output.UnprocessedKeys?.[table]?.Keys ?? []) as Item[];
      },
      policy,
    );
    if (left.length > 0)
      throw new UnavailableError('The readings store is busy; retry the request', undefined, 1);
    return items;
  });
  return pages.flat();
}
