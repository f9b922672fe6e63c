import { BatchGetCommand, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { dynamo } from '../aws/dynamo';
import { config } from '../config';
import { open } from '../crypto/cipher';
import { dataKeyById } from '../crypto/data-keys';
import { type PasswordAccess, passwordAccess } from '../devices/passwords';
import { logger } from '../logger';
import { count, MetricName } from '../observability';
import { cursorOutsideQuery, decodeCursor, encodeCursor } from '../pagination';
import {
  ARRIVAL_SORT_KEY,
  absoluteTimestamp,
  arrivalLowerBound,
  arrivalsPartition,
  READING_SORT_KEY,
  type ReadingItem,
  readingAad,
  relativeTimeRange,
  rowKey,
} from './rows';

export type Window =
  | { kind: 'all' }
  | { kind: 'since'; start: number }
  | { kind: 'between'; start: number; end: number }
  | { kind: 'recent'; seconds: number };

/** A reading as the original API returns it. */
export interface WireRow {
  id: string;
  absolute_timestamp: string;
  relative_timestamp: number;
  interrogator_timestamp: number;
  freeform: unknown;
}

export interface QueryRequest {
  deviceId: string;
  window: Window;
  password?: string;
  limit: number;
  cursor?: string;
}

const MIN_RELATIVE = -(2 ** 53) + 1;
const MAX_RELATIVE = 2 ** 53 - 1;

const rangeCursor = z.strictObject({ sk: z.string().regex(READING_SORT_KEY) });
const arrivalCursor = z.strictObject({
  a: z.string().regex(ARRIVAL_SORT_KEY),
  o: z.number().int().min(0).max(1_000_000),
});

/** Rows written without a password, and rows written with exactly the presented one. */
const readable = (item: ReadingItem, access: PasswordAccess) =>
  item.pv === undefined || access.keys.has(item.pv);

async function decrypt(items: ReadingItem[], access: PasswordAccess): Promise<WireRow[]> {
  const rows: WireRow[] = [];
  for (const item of items) {
    try {
      const dataKey = await dataKeyById(item.kid);
      const key = rowKey(dataKey, item.deviceId, item.pv ? access.keys.get(item.pv) : undefined);
      const plaintext = open(
        key,
        { iv: Buffer.from(item.iv), ciphertext: Buffer.from(item.ct) },
        readingAad(item.deviceId, item.id),
      );
      rows.push({
        id: item.id,
        absolute_timestamp: absoluteTimestamp(item.at),
        relative_timestamp: item.rt,
        interrogator_timestamp: item.it,
        freeform: JSON.parse(plaintext.toString('utf8')),
      });
    } catch (error) {
      // Integrity failure (tampered or misplaced row): never return garbage; leave it out and alert.
      logger.error('reading failed to decrypt', { readingId: item.id, errorName: (error as Error).name });
      count(MetricName.DecryptFailures);
    }
  }
  return rows;
}

/** Sorted as the original service sorts: by interrogator timestamp (then relative time, id). */
const byInterrogatorTime = (a: WireRow, b: WireRow) =>
  a.interrogator_timestamp - b.interrogator_timestamp ||
  a.relative_timestamp - b.relative_timestamp ||
  (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Relative-time windows: a Query on the table's sort key, paged by the last key examined. */
async function rangeItems(
  request: QueryRequest,
  start: number,
  end: number,
  access: PasswordAccess,
): Promise<{ items: ReadingItem[]; next?: Record<string, unknown> }> {
  const bounds = relativeTimeRange(start, end);
  const position = decodeCursor(request.cursor, rangeCursor);
  if (position && (position.sk < bounds.from || position.sk > bounds.to)) throw cursorOutsideQuery();
  const items: ReadingItem[] = [];
  let exclusiveStart: Record<string, unknown> | undefined = position
    ? { deviceId: request.deviceId, sk: position.sk }
    : undefined;
  for (;;) {
    const input: QueryCommandInput = {
      TableName: config.READINGS_TABLE,
      KeyConditionExpression: 'deviceId = :device AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: { ':device': request.deviceId, ':from': bounds.from, ':to': bounds.to },
      Limit: request.limit - items.length + 1,
      ExclusiveStartKey: exclusiveStart,
    };
    const { Items = [], LastEvaluatedKey } = await dynamo.send(new QueryCommand(input));
    for (const item of Items as ReadingItem[]) {
      if (!readable(item, access)) continue;
      if (items.length === request.limit) {
        // One more readable row exists: the page ends at the last one returned.
        return { items, next: { sk: (items[items.length - 1] as ReadingItem).sk } };
      }
      items.push(item);
    }
    if (!LastEvaluatedKey) return { items };
    exclusiveStart = LastEvaluatedKey;
  }
}

/** "Arrived in the last n seconds": a Query on the arrival log, then the rows it lists. */
async function recentItems(
  request: QueryRequest,
  seconds: number,
  access: PasswordAccess,
): Promise<{ items: ReadingItem[]; next?: Record<string, unknown> }> {
  const position = decodeCursor(request.cursor, arrivalCursor);
  const since = arrivalLowerBound(Date.now() - seconds * 1000);
  // Arrival keys are unique and ordered: a cursor resumes at its arrival item (inclusive), at an offset.
  const from = position && position.a > since ? position.a : since;
  const keys: Array<{ sk: string }> = [];
  let next: Record<string, unknown> | undefined;
  let exclusiveStart: Record<string, unknown> | undefined;
  collect: for (;;) {
    const { Items = [], LastEvaluatedKey } = await dynamo.send(
      new QueryCommand({
        TableName: config.READINGS_TABLE,
        KeyConditionExpression: 'deviceId = :arrivals AND sk >= :from',
        ExpressionAttributeValues: { ':arrivals': arrivalsPartition(request.deviceId), ':from': from },
        ExclusiveStartKey: exclusiveStart,
        Limit: 100,
      }),
    );
    for (const arrival of Items as Array<{ sk: string; rows: string[] }>) {
      const skip = position && arrival.sk === position.a ? position.o : 0;
      const rows = arrival.rows.slice(skip);
      if (rows.length === 0) continue;
      const room = request.limit - keys.length;
      if (room === 0) {
        next = { a: arrival.sk, o: skip };
        break collect;
      }
      keys.push(...rows.slice(0, room).map((sk) => ({ sk })));
      if (rows.length > room) {
        next = { a: arrival.sk, o: skip + room };
        break collect;
      }
    }
    if (!LastEvaluatedKey) break;
    exclusiveStart = LastEvaluatedKey;
  }
  const items = (await getReadings(request.deviceId, keys)).filter((item) => readable(item, access));
  return { items, next };
}

async function getReadings(deviceId: string, keys: Array<{ sk: string }>): Promise<ReadingItem[]> {
  const items: ReadingItem[] = [];
  for (let index = 0; index < keys.length; index += 100) {
    let pending: Array<Record<string, unknown>> = keys
      .slice(index, index + 100)
      .map(({ sk }) => ({ deviceId, sk }));
    for (let attempt = 0; pending.length > 0; attempt += 1) {
      const { Responses = {}, UnprocessedKeys = {} } = await dynamo.send(
        new BatchGetCommand({ RequestItems: { [config.READINGS_TABLE]: { Keys: pending } } }),
      );
      items.push(...((Responses[config.READINGS_TABLE] ?? []) as ReadingItem[]));
      pending = (UnprocessedKeys[config.READINGS_TABLE]?.Keys ?? []) as Array<Record<string, unknown>>;
      if (pending.length > 0) {
        if (attempt >= 6) throw new Error('readings could not be read (throttled)');
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 50 * 2 ** attempt));
      }
    }
  }
  return items;
}

/** A page of a device's readings in a window; its cost grows with the rows returned, not the table. */
export async function queryReadings(request: QueryRequest): Promise<{ data: WireRow[]; next?: string }> {
  const access = await passwordAccess(request.deviceId, request.password);
  const { window } = request;
  const page =
    window.kind === 'recent'
      ? await recentItems(request, window.seconds, access)
      : await rangeItems(
          request,
          window.kind === 'all' ? MIN_RELATIVE : window.start,
          window.kind === 'between' ? window.end : MAX_RELATIVE,
          access,
        );
  const data = (await decrypt(page.items, access)).sort(byInterrogatorTime);
  return { data, next: encodeCursor(page.next) };
}
