import { BatchWriteCommand, type BatchWriteCommandOutput } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../aws/dynamo';
import { config } from '../config';
import { logger } from '../logger';
import { count, MetricName } from '../observability';
import { auditItem } from './audit';
import { type ReadingsMessage, readingsMessageSchema } from './messages';
import {
  type ArrivalItem,
  arrivalSortKey,
  arrivalsPartition,
  expiresAt,
  type ReadingItem,
  readingSortKey,
} from './rows';

export interface QueuedMessage {
  messageId: string;
  body: string;
  /** The API request that enqueued it (message attribute), else the message id. */
  correlationId?: string;
}

type WriteRequest = { PutRequest: { Item: Record<string, unknown> } };
interface TableWrite {
  table: string;
  key: string;
  request: WriteRequest;
  messageIds: Set<string>;
}

const BATCH_LIMIT = 25;
const MAX_ATTEMPTS = 8;
const BASE_DELAY_MS = 50;
const MAX_DELAY_MS = 2_000;

/** Rows a message becomes. Ids come from the message, so a redelivery rewrites the same rows. */
export function itemsOf(
  message: ReadingsMessage,
): Array<{ table: string; key: string; item: Record<string, unknown> }> {
  const retention = expiresAt(message.arrivedAt, config.READINGS_RETENTION_DAYS);
  const readings: ReadingItem[] = message.readings.map((reading) => ({
    deviceId: message.deviceId,
    sk: readingSortKey(reading.rt, reading.id),
    id: reading.id,
    rt: reading.rt,
    it: reading.it,
    at: message.arrivedAt,
    kid: message.keyId,
    ...(message.verifierId ? { pv: message.verifierId } : {}),
    iv: Buffer.from(reading.iv, 'base64'),
    ct: Buffer.from(reading.ct, 'base64'),
    ...(retention ? { expiresAt: retention } : {}),
  }));
  const arrival: ArrivalItem = {
    deviceId: arrivalsPartition(message.deviceId),
    sk: arrivalSortKey(message.arrivedAt, message.batchId, message.seq),
    rows: readings.map((reading) => reading.sk),
    ...(retention ? { expiresAt: retention } : {}),
  };
  const items = [...readings, arrival].map((item) => ({
    table: config.READINGS_TABLE,
    key: `${item.deviceId}\n${item.sk}`,
    item: item as unknown as Record<string, unknown>,
  }));
  if (message.audit) {
    const entry = auditItem(message.audit);
    items.push({ table: config.AUDIT_TABLE, key: `${entry.day}\n${entry.entryKey}`, item: entry });
  }
  return items;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Exponential backoff with full jitter. */
const backoff = (attempt: number) => Math.random() * Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt);

/** Writes one chunk (≤ 25 requests), retrying UnprocessedItems; returns the requests never written. */
async function writeChunk(chunk: TableWrite[], deadline: number): Promise<TableWrite[]> {
  let pending = chunk;
  for (let attempt = 0; pending.length > 0; attempt += 1) {
    const requestItems: Record<string, WriteRequest[]> = {};
    for (const write of pending) {
      const requests = requestItems[write.table] ?? [];
      requests.push(write.request);
      requestItems[write.table] = requests;
    }
    let output: BatchWriteCommandOutput;
    try {
      output = await dynamo.send(new BatchWriteCommand({ RequestItems: requestItems }));
    } catch (error) {
      // Throttling of the whole call: retried like unprocessed items; anything else fails the chunk.
      const name = (error as Error).name;
      const retryable = name === 'ProvisionedThroughputExceededException' || name === 'ThrottlingException';
      if (!retryable || attempt + 1 >= MAX_ATTEMPTS || Date.now() + MAX_DELAY_MS > deadline) {
        logger.error('batch write failed', { errorName: name, requests: pending.length });
        return pending;
      }
      await sleep(backoff(attempt));
      continue;
    }
    const unprocessed = output.UnprocessedItems ?? {};
    const left = new Set<WriteRequest>();
    for (const requests of Object.values(unprocessed)) {
      for (const request of requests) left.add(request as WriteRequest);
    }
    if (left.size === 0) return [];
    // UnprocessedItems echoes the request objects back; match them by their item's key.
    const unprocessedKeys = new Set(
      [...left].map((request) => {
        const item = request.PutRequest.Item;
        return `${String(item.deviceId ?? item.day)}\n${String(item.sk ?? item.entryKey)}`;
      }),
    );
    pending = pending.filter((write) => unprocessedKeys.has(write.key));
    if (attempt + 1 >= MAX_ATTEMPTS || Date.now() + MAX_DELAY_MS > deadline) {
      logger.warn('unprocessed items left after retries', { requests: pending.length });
      return pending;
    }
    await sleep(backoff(attempt));
  }
  return [];
}

/**
 * Stores a batch of queued messages. Returns the ids of the messages that could not be stored
 * completely (malformed, or writes that kept failing): exactly those are redelivered by SQS.
 */
export async function storeMessages(messages: QueuedMessage[], deadline: number): Promise<string[]> {
  const failed = new Set<string>();
  // The same message can arrive twice in one batch (at-least-once delivery), and DynamoDB rejects a
  // BatchWriteItem naming one key twice: one write per key, remembering every message that needs it.
  const writes = new Map<string, TableWrite>();
  let malformed = 0;
  const readingsOf = new Map<string, number>();
  for (const { messageId, body, correlationId } of messages) {
    let message: ReadingsMessage;
    try {
      message = readingsMessageSchema.parse(JSON.parse(body));
    } catch {
      logger.error('malformed readings message', { messageId, correlationId: correlationId ?? messageId });
      failed.add(messageId);
      malformed += 1;
      continue;
    }
    readingsOf.set(messageId, message.readings.length);
    for (const { table, key, item } of itemsOf(message)) {
      const existing = writes.get(key);
      if (existing) existing.messageIds.add(messageId);
      else
        writes.set(key, {
          table,
          key,
          request: { PutRequest: { Item: item } },
          messageIds: new Set([messageId]),
        });
    }
  }
  const all = [...writes.values()];
  const chunks: TableWrite[][] = [];
  for (let index = 0; index < all.length; index += BATCH_LIMIT)
    chunks.push(all.slice(index, index + BATCH_LIMIT));
  // A few chunks at a time: fast, without a burst that only earns throttling.
  const CONCURRENCY = 4;
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, chunks.length) }, async () => {
      while (next < chunks.length) {
        const chunk = chunks[next++] as TableWrite[];
        const unwritten = await writeChunk(chunk, deadline);
        for (const write of unwritten) for (const id of write.messageIds) failed.add(id);
      }
    }),
  );
  let stored = 0;
  let storedMessages = 0;
  for (const [messageId, readings] of readingsOf) {
    if (failed.has(messageId)) continue;
    stored += readings;
    storedMessages += 1;
  }
  count(MetricName.ReadingsStored, stored);
  count(MetricName.MessagesStored, storedMessages);
  count(MetricName.BatchItemFailures, failed.size);
  if (malformed > 0) count(MetricName.MalformedMessages, malformed);
  logger.info('readings stored', {
    messages: messages.length,
    rows: all.length,
    readings: stored,
    failedMessages: failed.size,
  });
  return [...failed];
}
