import { batchPut, type PutWrite } from '../aws/batch';
import { config } from '../config';
import { logger } from '../logger';
import { count, MetricName } from '../observability';
import { auditItem } from './audit';
import { type ChunkItem, chunkSortKey } from './chunks';
import { latestItem } from './latest';
import { parseQueuedMessage, parseSpilledBody, type ReadingsBatch, readingsIn } from './messages';
import {
  type ArrivalItem,
  arrivalSortKey,
  arrivalsPartition,
  expiresAt,
  type ReadingItem,
  readingSortKey,
} from './rows';
import { readSpilledMessage, SpilledMessageLost } from './spill';

export interface QueuedMessage {
  messageId: string;
  body: string;
  /** The API request that enqueued it (message attribute), else the message id. */
  correlationId?: string;
}

const READINGS_KEY = ['deviceId', 'sk'] as const;
const AUDIT_KEY = ['day', 'entryKey'] as const;

/**
 * Items a batch becomes, in two steps: its readings (chunks, or one item per reading for messages
 * from before chunks), then its arrival entry, latest-reading entry (latest.ts) and audit entry, which
 * are written only once every reading is, so they never name a row that is not there. Keys come from the message, so
 * a redelivery rewrites the same items.
 */
export function itemsOf(batch: ReadingsBatch): { readings: PutWrite[]; after: PutWrite[] } {
  const retention = expiresAt(batch.arrivedAt, config.READINGS_RETENTION_DAYS);
  const chunks: ChunkItem[] = batch.chunks.map((chunk) => ({
    deviceId: batch.deviceId,
    sk: chunkSortKey(chunk.lo, batch.batchId, chunk.part),
    n: chunk.n,
    hi: chunk.hi,
    at: batch.arrivedAt,
    kid: batch.keyId,
    ...(chunk.pv ? { pv: chunk.pv } : {}),
    ix: Buffer.from(chunk.ix, 'base64'),
    iv: Buffer.from(chunk.iv, 'base64'),
    ct: Buffer.from(chunk.ct, 'base64'),
    ...(retention ? { expiresAt: retention } : {}),
  }));
  const readings: ReadingItem[] = batch.readings.map((reading) => ({
    deviceId: batch.deviceId,
    sk: readingSortKey(reading.rt, reading.id),
    id: reading.id,
    rt: reading.rt,
    it: reading.it,
    at: batch.arrivedAt,
    kid: batch.keyId,
    ...(reading.pv ? { pv: reading.pv } : {}),
    iv: Buffer.from(reading.iv, 'base64'),
    ct: Buffer.from(reading.ct, 'base64'),
    ...(retention ? { expiresAt: retention } : {}),
  }));
  const arrival: ArrivalItem = {
    deviceId: arrivalsPartition(batch.deviceId),
    sk: arrivalSortKey(batch.arrivedAt, batch.batchId, batch.seq),
    ...(chunks.length > 0
      ? { chunks: chunks.map((chunk) => chunk.sk), n: readingsIn(batch) }
      : { rows: readings.map((reading) => reading.sk) }),
    ...(retention ? { expiresAt: retention } : {}),
  };
  const put = (item: object): PutWrite => ({
    table: config.READINGS_TABLE,
    item: item as Record<string, unknown>,
    keyAttributes: READINGS_KEY,
  });
  const after = [put(arrival)];
  if (batch.latest)
    after.push(
      put({ ...latestItem(batch.deviceId, batch.latest), ...(retention ? { expiresAt: retention } : {}) }),
    );
  if (batch.audit)
    after.push({ table: config.AUDIT_TABLE, item: auditItem(batch.audit), keyAttributes: AUDIT_KEY });
  return { readings: [...chunks.map(put), ...readings.map(put)], after };
}

type Opened = { ok: true; batch: ReadingsBatch } | { ok: false; malformed: boolean };

/** A message's readings: parsed, and fetched from the ingest bucket when it was spilled there. */
async function openMessage({ messageId, body, correlationId }: QueuedMessage): Promise<Opened> {
  const log = { messageId, correlationId: correlationId ?? messageId };
  let parsed: ReturnType<typeof parseQueuedMessage>;
  try {
    parsed = parseQueuedMessage(body);
  } catch {
    logger.error('malformed readings message', log);
    return { ok: false, malformed: true };
  }
  if (parsed.kind === 'batch') return { ok: true, batch: parsed.batch };
  try {
    return { ok: true, batch: parseSpilledBody(parsed.pointer, await readSpilledMessage(parsed.pointer)) };
  } catch (error) {
    // A missing or altered object cannot heal: after maxReceiveCount the message goes to the DLQ.
    const lost = error instanceof SpilledMessageLost;
    logger.error(lost ? 'spilled readings message unusable' : 'spilled readings message not readable now', {
      ...log,
      errorName: (error as Error).name,
    });
    return { ok: false, malformed: lost };
  }
}

/**
 * Stores a batch of queued messages. Returns the ids of the messages that could not be stored
 * completely (malformed, or writes that kept failing): exactly those are redelivered by SQS.
 */
export async function storeMessages(messages: QueuedMessage[], deadline: number): Promise<string[]> {
  const failed = new Set<string>();
  const opened = await Promise.all(messages.map(openMessage));
  // The same message can arrive twice in one batch (at-least-once delivery): batchPut writes each
  // key once and reports every write that names a failed key, so each message is judged by its own.
  type Write = PutWrite & { messageId: string };
  const readingWrites: Write[] = [];
  const afterWrites: Write[] = [];
  const readingsOf = new Map<string, number>();
  let malformed = 0;
  opened.forEach((result, index) => {
    const { messageId } = messages[index] as QueuedMessage;
    if (!result.ok) {
      failed.add(messageId);
      if (result.malformed) malformed += 1;
      return;
    }
    readingsOf.set(messageId, readingsIn(result.batch));
    const { readings, after } = itemsOf(result.batch);
    for (const write of readings) readingWrites.push({ ...write, messageId });
    for (const write of after) afterWrites.push({ ...write, messageId });
  });
  for (const write of await batchPut(readingWrites, { deadline, concurrency: 4 }))
    failed.add((write as Write).messageId);
  const ready = afterWrites.filter((write) => !failed.has(write.messageId));
  for (const write of await batchPut(ready, { deadline, concurrency: 4 }))
    failed.add((write as Write).messageId);
  const writes = [...readingWrites, ...ready];

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
    rows: writes.length,
    readings: stored,
    failedMessages: failed.size,
  });
  return [...failed];
}
