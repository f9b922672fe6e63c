import * as z from 'zod';
import { batchGet } from '../aws/batch';
import { queryPages } from '../aws/paging';
import { config } from '../config';
import { open } from '../crypto/cipher';
import { dataKeyById } from '../crypto/data-keys';
import { type PasswordAccess, passwordAccess } from '../devices/passwords';
import { UnavailableError } from '../errors';
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

export interface ReadingsPage {
  data: WireRow[];
  next?: string;
  /** Rows of the window this page passed over because they were sealed with another (or no) db_password. */
  hidden?: number;
  /** Ids of rows that failed authentication (tampered or misplaced): never returned, never silently. */
  unreadable?: string[];
}

const MIN_RELATIVE = -(2 ** 53) + 1;
const MAX_RELATIVE = 2 ** 53 - 1;

const rangeCursor = z.strictObject({ sk: z.string().regex(READING_SORT_KEY) });
const arrivalCursor = z.strictObject({
  a: z.string().regex(ARRIVAL_SORT_KEY),
  o: z.number().int().min(0).max(100_000),
});

/** Rows written without a password, and rows written with exactly the presented one. */
const readable = (item: ReadingItem, access: PasswordAccess) =>
  item.pv === undefined || access.keys.has(item.pv);

const TAG_BYTES = 16;

/**
 * The bytes a row adds to the response, known before decrypting: its freeform's JSON is exactly the
 * sealed plaintext (ingest sealed JSON.stringify of it), so ciphertext length minus the tag.
 */
function rowBytes(item: ReadingItem): number {
  const frame = JSON.stringify({
    id: item.id,
    absolute_timestamp: absoluteTimestamp(item.at),
    relative_timestamp: item.rt,
    interrogator_timestamp: item.it,
    freeform: 0,
  });
  return Buffer.byteLength(frame) - 1 + Math.max(0, item.ct.length - TAG_BYTES) + 1;
}

/** Collects a page in key order within every bound: rows, response bytes, rows examined. */
class PageBuilder {
  readonly items: ReadingItem[] = [];
  hidden = 0;
  examined = 0;
  private bytes = 0;

  constructor(
    private readonly limit: number,
    private readonly access: PasswordAccess,
  ) {}

  /** 'full' when the item does not fit (it starts the next page); 'added' or 'hidden' otherwise. */
  offer(item: ReadingItem): 'added' | 'hidden' | 'full' {
    if (!readable(item, this.access)) {
      this.examined += 1;
      this.hidden += 1;
      return 'hidden';
    }
    const size = rowBytes(item);
    // A single row always fits (freeform ≤ 16 KB): the first row of a page is never refused.
    if (
      this.items.length === this.limit ||
      (this.items.length > 0 && this.bytes + size > config.QUERY_MAX_PAGE_BYTES)
    )
      return 'full';
    this.examined += 1;
    this.items.push(item);
    this.bytes += size;
    return 'added';
  }

  /** Examined enough rows for one request: the page ends here even if short (the cursor says where). */
  get exhausted(): boolean {
    return this.examined >= config.QUERY_MAX_SCANNED_ROWS;
  }
}

/** Relative-time windows: a Query on the table's sort key, paged by the last key examined. */
async function rangePage(request: QueryRequest, start: number, end: number, page: PageBuilder) {
  const bounds = relativeTimeRange(start, end);
  const position = decodeCursor(request.cursor, rangeCursor);
  // A cursor outside the window (forged, or from another window) is a 400: an empty 200 would read
  // as "no more rows" to a client that mixed up its cursors.
  if (position && (position.sk < bounds.from || position.sk > bounds.to)) throw cursorOutsideQuery();
  let lastExamined: string | undefined;
  for await (const { items } of queryPages({
    TableName: config.READINGS_TABLE,
    KeyConditionExpression: 'deviceId = :device AND sk BETWEEN :from AND :to',
    ExpressionAttributeValues: { ':device': request.deviceId, ':from': bounds.from, ':to': bounds.to },
    Limit: Math.min(1_000, request.limit + 1),
    ...(position ? { ExclusiveStartKey: { deviceId: request.deviceId, sk: position.sk } } : {}),
  })) {
    for (const item of items as unknown as ReadingItem[]) {
      if (page.offer(item) === 'full') return lastExamined ? { sk: lastExamined } : undefined;
      lastExamined = item.sk;
      if (page.exhausted) return { sk: lastExamined };
    }
  }
  return undefined;
}

/** "Arrived in the last n seconds": the arrival log names the rows, read with BatchGetItem. */
async function recentPage(request: QueryRequest, seconds: number, page: PageBuilder) {
  const position = decodeCursor(request.cursor, arrivalCursor);
  const since = arrivalLowerBound(Date.now() - seconds * 1000);
  // Arrival keys are unique and ordered: a cursor resumes at its arrival item (inclusive), at an offset.
  const from = position && position.a > since ? position.a : since;
  // Row keys in arrival order, with where each sits in the log (a cursor can resume inside an arrival).
  const keys: Array<{ sk: string; a: string; o: number }> = [];
  let more: { a: string; o: number } | undefined;
  collect: for await (const { items } of queryPages({
    TableName: config.READINGS_TABLE,
    KeyConditionExpression: 'deviceId = :arrivals AND sk >= :from',
    ExpressionAttributeValues: { ':arrivals': arrivalsPartition(request.deviceId), ':from': from },
    Limit: 100,
  })) {
    for (const arrival of items as Array<{ sk: string; rows: string[] }>) {
      const skip = position && arrival.sk === position.a ? position.o : 0;
      for (let offset = skip; offset < arrival.rows.length; offset += 1) {
        if (keys.length === request.limit) {
          more = { a: arrival.sk, o: offset };
          break collect;
        }
        keys.push({ sk: arrival.rows[offset] as string, a: arrival.sk, o: offset });
      }
    }
  }
  // Arrival entries are written only after their rows, so a key with no row is one TTL removed.
  const found = new Map(
    (
      (await batchGet(
        config.READINGS_TABLE,
        keys.map(({ sk }) => ({ deviceId: request.deviceId, sk })),
        ['deviceId', 'sk'],
      )) as unknown as ReadingItem[]
    ).map((item) => [item.sk, item]),
  );
  const seen = new Set<string>();
  for (const key of keys) {
    const item = found.get(key.sk);
    // The same row listed twice (a retried request before idempotency records existed) is returned once.
    if (!item || seen.has(key.sk)) continue;
    seen.add(key.sk);
    if (page.offer(item) === 'full') return { a: key.a, o: key.o };
  }
  return more;
}

/**
 * Opens each row. A data key that cannot be had (not found yet, KMS or DynamoDB busy) fails the whole
 * request with a retryable 503: a page never silently shrinks. A row that fails authentication is
 * reported by id, counted and logged (an alarm watches DecryptFailures).
 */
async function decrypt(
  items: ReadingItem[],
  access: PasswordAccess,
): Promise<{ rows: WireRow[]; unreadable: string[] }> {
  const rows: WireRow[] = [];
  const unreadable: string[] = [];
  for (const item of items) {
    let dataKey: Buffer;
    try {
      dataKey = await dataKeyById(item.kid);
    } catch (error) {
      logger.warn('data key not available', { keyId: item.kid, errorName: (error as Error).name });
      throw new UnavailableError(
        'A key needed to read these readings is not available yet; retry the request',
      );
    }
    try {
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
      logger.error('reading failed authentication', { readingId: item.id, errorName: (error as Error).name });
      count(MetricName.DecryptFailures);
      unreadable.push(item.id);
    }
  }
  return { rows, unreadable };
}

/** Sorted as the original service sorts: by interrogator timestamp (then relative time, id). */
const byInterrogatorTime = (a: WireRow, b: WireRow) =>
  a.interrogator_timestamp - b.interrogator_timestamp ||
  a.relative_timestamp - b.relative_timestamp ||
  (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * A page of a device's readings in a window. Bounded in rows (`limit`), in response bytes (within
 * Lambda's 6 MB) and in rows examined per request; its cost grows with the rows returned, not the table.
 */
export async function queryReadings(request: QueryRequest): Promise<ReadingsPage> {
  const access = await passwordAccess(request.deviceId, request.password);
  const { window } = request;
  const page = new PageBuilder(request.limit, access);
  const next =
    window.kind === 'recent'
      ? await recentPage(request, window.seconds, page)
      : await rangePage(
          request,
          window.kind === 'all' ? MIN_RELATIVE : window.start,
          window.kind === 'between' ? window.end : MAX_RELATIVE,
          page,
        );
  const { rows, unreadable } = await decrypt(page.items, access);
  const result: ReadingsPage = { data: rows.sort(byInterrogatorTime) };
  const cursor = encodeCursor(next);
  if (cursor) result.next = cursor;
  if (page.hidden > 0) result.hidden = page.hidden;
  if (unreadable.length > 0) result.unreadable = unreadable;
  return result;
}
