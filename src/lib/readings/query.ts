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
  bucketStart,
  CHUNK_SORT_KEY,
  type ChunkItem,
  chunkBatchId,
  chunkName,
  decodeIndex,
  type IndexedRow,
  type OpenedRow,
  openChunk,
} from './chunks';
import {
  ARRIVAL_SORT_KEY,
  type ArrivalItem,
  absoluteTimestamp,
  arrivalLowerBound,
  arrivalsPartition,
  decodeRelativeTime,
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

const storedSortKey = z.string().refine((sk) => READING_SORT_KEY.test(sk) || CHUNK_SORT_KEY.test(sk));
// {sk, o, w}: resume at item sk (inclusive), at its row o, in window w ("<start>..<end>": a chunk can
// hold rows of many windows, so its key alone cannot tell which query a cursor came from).
// {sk} alone (cursors from before chunks): resume after item sk.
const rangeCursor = z.strictObject({
  sk: storedSortKey,
  o: z.number().int().min(0).max(100_000).optional(),
  w: z.string().max(64).optional(),
});
const arrivalCursor = z.strictObject({
  a: z.string().regex(ARRIVAL_SORT_KEY),
  o: z.number().int().min(0).max(100_000),
});

type StoredItem = ReadingItem | ChunkItem;
const isChunk = (item: StoredItem): item is ChunkItem => 'ix' in item;

/** Rows written without a password, and rows written with exactly the presented one. */
const readable = (pv: string | undefined, access: PasswordAccess) => pv === undefined || access.keys.has(pv);

const TAG_BYTES = 16;

/** The bytes a row adds to the response, from its metadata and its freeform's JSON length. */
function rowBytes(row: Omit<WireRow, 'freeform'>, freeformBytes: number): number {
  return Buffer.byteLength(JSON.stringify({ ...row, freeform: 0 })) - 1 + freeformBytes + 1;
}

/** Collects a page in key order within every bound: rows, response bytes, rows examined. */
class PageBuilder {
  readonly rows: WireRow[] = [];
  readonly unreadable: string[] = [];
  hidden = 0;
  examined = 0;
  private bytes = 0;

  constructor(private readonly limit: number) {}

  /** Whether a row of `size` bytes still fits; a page's first row always does (freeform ≤ 16 KB). */
  fits(size: number): boolean {
    return (
      this.rows.length < this.limit &&
      (this.rows.length === 0 || this.bytes + size <= config.QUERY_MAX_PAGE_BYTES)
    );
  }

  add(row: WireRow, size: number) {
    this.examined += 1;
    this.rows.push(row);
    this.bytes += size;
  }

  hide() {
    this.examined += 1;
    this.hidden += 1;
  }

  /** A row that failed authentication: reported by id, counted and logged (an alarm watches it). */
  reject(id: string, error: unknown) {
    this.examined += 1;
    this.unreadable.push(id);
    logger.error('reading failed authentication', { readingId: id, errorName: (error as Error).name });
    count(MetricName.DecryptFailures);
  }

  /** Examined enough rows for one request: the page ends here even if short (the cursor says where). */
  get exhausted(): boolean {
    return this.examined >= config.QUERY_MAX_SCANNED_ROWS;
  }
}

/**
 * A data key that cannot be had (not found yet, KMS or DynamoDB busy) fails the whole request with a
 * retryable 503: a page never silently shrinks.
 */
async function keyFor(keyId: string): Promise<Buffer> {
  try {
    return await dataKeyById(keyId);
  } catch (error) {
    logger.warn('data key not available', { keyId, errorName: (error as Error).name });
    throw new UnavailableError('A key needed to read these readings is not available yet; retry the request');
  }
}

/**
 * Offers an item's rows (those `wanted`, from row `from` on) to the page. Returns the row at which
 * the next page must resume inside this item, or undefined when the item is done with.
 */
async function offerItem(
  item: StoredItem,
  page: PageBuilder,
  access: PasswordAccess,
  from: number,
  wanted: (relativeTime: number) => boolean,
): Promise<number | undefined> {
  const stop = (offset: number) => (page.exhausted ? offset + 1 : undefined);
  if (!isChunk(item)) {
    if (from > 0 || !wanted(item.rt)) return undefined;
    if (!readable(item.pv, access)) {
      page.hide();
      return stop(0);
    }
    const row = {
      id: item.id,
      absolute_timestamp: absoluteTimestamp(item.at),
      relative_timestamp: item.rt,
      interrogator_timestamp: item.it,
    };
    // The freeform's JSON is exactly the sealed plaintext: its size is known before decrypting.
    const size = rowBytes(row, Math.max(0, item.ct.length - TAG_BYTES));
    if (!page.fits(size)) return 0;
    const dataKey = await keyFor(item.kid);
    try {
      const key = rowKey(dataKey, item.deviceId, item.pv ? access.keys.get(item.pv) : undefined);
      const plaintext = open(
        key,
        { iv: Buffer.from(item.iv), ciphertext: Buffer.from(item.ct) },
        readingAad(item.deviceId, item.id),
      );
      page.add({ ...row, freeform: JSON.parse(plaintext.toString('utf8')) }, size);
    } catch (error) {
      page.reject(item.id, error);
    }
    return stop(0);
  }

  const batchId = chunkBatchId(item.sk);
  let index: IndexedRow[];
  try {
    index = decodeIndex(decodeRelativeTime(item.sk), item.ix, item.n);
  } catch (error) {
    // Without its index a chunk's rows cannot even be named: the chunk is reported by its own name.
    page.reject(chunkName(item.sk), error);
    return stop(0);
  }
  const offsets: number[] = [];
  index.forEach((row, offset) => {
    if (offset >= from && wanted(row.rt)) offsets.push(offset);
  });
  if (offsets.length === 0) return undefined;
  if (!readable(item.pv, access)) {
    for (const offset of offsets) {
      page.hide();
      if (page.exhausted) return offset + 1;
    }
    return undefined;
  }
  const dataKey = await keyFor(item.kid);
  let opened: OpenedRow[];
  try {
    opened = openChunk(
      rowKey(dataKey, item.deviceId, item.pv ? access.keys.get(item.pv) : undefined),
      item,
      index,
    );
  } catch (error) {
    for (const offset of offsets) {
      page.reject(`${batchId}-${(index[offset] as IndexedRow).number}`, error);
      if (page.exhausted) return offset + 1;
    }
    return undefined;
  }
  const absolute = absoluteTimestamp(item.at);
  for (const offset of offsets) {
    const { rt, number, it, freeform, freeformBytes } = opened[offset] as OpenedRow;
    const row = {
      id: `${batchId}-${number}`,
      absolute_timestamp: absolute,
      relative_timestamp: rt,
      interrogator_timestamp: it,
    };
    const size = rowBytes(row, freeformBytes);
    if (!page.fits(size)) return offset;
    page.add({ ...row, freeform }, size);
    if (page.exhausted) return offset + 1;
  }
  return undefined;
}

/**
 * Where a window's Query starts: at its first relative time, or earlier at the lowest chunk that
 * starts before it and reaches into it. Such chunks start in the same bucket, so a key-only probe of
 * that bucket's part below `start` finds them (on the first page only: a cursor knows where it is).
 */
async function windowStart(deviceId: string, start: number): Promise<string> {
  const from = relativeTimeRange(start, start).from;
  if (start === MIN_RELATIVE || bucketStart(start) === start) return from;
  let lowest = from;
  for await (const { items } of queryPages({
    TableName: config.READINGS_TABLE,
    KeyConditionExpression: 'deviceId = :device AND sk BETWEEN :from AND :to',
    FilterExpression: '#hi >= :start',
    ExpressionAttributeNames: { '#hi': 'hi' },
    ExpressionAttributeValues: {
      ':device': deviceId,
      ':from': relativeTimeRange(bucketStart(start), start).from,
      ':to': from,
      ':start': start,
    },
    ProjectionExpression: 'sk',
  })) {
    for (const item of items as Array<{ sk: string }>) if (item.sk < lowest) lowest = item.sk;
  }
  return lowest;
}

/**
 * Relative-time windows: one Query on the sort key, from the window's start (or the chunk reaching
 * into it) to its end; a filter drops items wholly before the window (chunks of other requests that
 * started between).
 */
async function rangePage(
  request: QueryRequest,
  start: number,
  end: number,
  page: PageBuilder,
  access: PasswordAccess,
) {
  const bounds = relativeTimeRange(bucketStart(start), end);
  const position = decodeCursor(request.cursor, rangeCursor);
  // A cursor outside the window (forged, or from another window) is a 400: an empty 200 would read
  // as "no more rows" to a client that mixed up its cursors.
  const windowName = `${start}..${end}`;
  if (
    position &&
    (position.sk < bounds.from ||
      position.sk > bounds.to ||
      (position.w ?? windowName) !== windowName ||
      (position.o === undefined) !== (position.w === undefined))
  )
    throw cursorOutsideQuery();
  const resume = position?.o !== undefined ? position : undefined;
  const wanted = (relativeTime: number) => relativeTime >= start && relativeTime <= end;
  const from = resume ? resume.sk : position ? bounds.from : await windowStart(request.deviceId, start);
  let lastExamined: string | undefined;
  for await (const { items } of queryPages({
    TableName: config.READINGS_TABLE,
    KeyConditionExpression: 'deviceId = :device AND sk BETWEEN :from AND :to',
    ...(start > MIN_RELATIVE
      ? {
          FilterExpression: '#rt >= :start OR #hi >= :start',
          ExpressionAttributeNames: { '#rt': 'rt', '#hi': 'hi' },
        }
      : {}),
    ExpressionAttributeValues: {
      ':device': request.deviceId,
      ':from': from,
      ':to': bounds.to,
      ...(start > MIN_RELATIVE ? { ':start': start } : {}),
    },
    Limit: Math.min(1_000, request.limit + 1),
    ...(position && !resume ? { ExclusiveStartKey: { deviceId: request.deviceId, sk: position.sk } } : {}),
  })) {
    for (const item of items as unknown as StoredItem[]) {
      const from = resume && item.sk === resume.sk ? (resume.o ?? 0) : 0;
      const at = await offerItem(item, page, access, from, wanted);
      if (at !== undefined) return { sk: item.sk, o: at, w: windowName };
      lastExamined = item.sk;
      if (page.exhausted) return { sk: lastExamined };
    }
  }
  return undefined;
}

/** "Arrived in the last n seconds": the arrival log names the chunks (or rows), read with BatchGetItem. */
async function recentPage(request: QueryRequest, seconds: number, page: PageBuilder, access: PasswordAccess) {
  const position = decodeCursor(request.cursor, arrivalCursor);
  const since = arrivalLowerBound(Date.now() - seconds * 1000);
  // Arrival keys are unique and ordered: a cursor resumes at its arrival item (inclusive), at a row.
  const from = position && position.a > since ? position.a : since;
  const arrivals: ArrivalItem[] = [];
  let rowsListed = 0;
  let more: { a: string; o: number } | undefined;
  collect: for await (const { items } of queryPages({
    TableName: config.READINGS_TABLE,
    KeyConditionExpression: 'deviceId = :arrivals AND sk >= :from',
    ExpressionAttributeValues: { ':arrivals': arrivalsPartition(request.deviceId), ':from': from },
    Limit: 100,
  })) {
    for (const arrival of items as unknown as ArrivalItem[]) {
      if (rowsListed >= request.limit) {
        more = { a: arrival.sk, o: 0 };
        break collect;
      }
      arrivals.push(arrival);
      const skip = position && arrival.sk === position.a ? position.o : 0;
      rowsListed += Math.max(0, (arrival.n ?? arrival.rows?.length ?? 0) - skip);
    }
  }
  // Arrival entries are written only after their rows, so a key with no item is one TTL removed.
  const keys = [...new Set(arrivals.flatMap((arrival) => arrival.chunks ?? arrival.rows ?? []))];
  const found = new Map(
    (
      (await batchGet(
        config.READINGS_TABLE,
        keys.map((sk) => ({ deviceId: request.deviceId, sk })),
        ['deviceId', 'sk'],
      )) as unknown as StoredItem[]
    ).map((item) => [item.sk, item]),
  );
  const seen = new Set<string>();
  const everyRow = () => true;
  for (const arrival of arrivals) {
    const skip = position && arrival.sk === position.a ? position.o : 0;
    // Rows are numbered through the arrival's items in order, so a cursor can resume inside one.
    let base = 0;
    for (const sk of arrival.chunks ?? arrival.rows ?? []) {
      const item = found.get(sk);
      // A missing item was removed by TTL (with its arrival entry's siblings): a row key counts one.
      const rows = arrival.chunks ? (item && isChunk(item) ? item.n : 0) : 1;
      // The same row listed twice (a retried request before idempotency records existed) is returned once.
      if (item && !seen.has(sk) && base + rows > skip) {
        seen.add(sk);
        const at = await offerItem(item, page, access, Math.max(0, skip - base), everyRow);
        if (at !== undefined) return { a: arrival.sk, o: base + at };
      }
      base += rows;
    }
  }
  return more;
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
  const page = new PageBuilder(request.limit);
  const next =
    window.kind === 'recent'
      ? await recentPage(request, window.seconds, page, access)
      : await rangePage(
          request,
          window.kind === 'all' ? MIN_RELATIVE : window.start,
          window.kind === 'between' ? window.end : MAX_RELATIVE,
          page,
          access,
        );
  const result: ReadingsPage = { data: page.rows.sort(byInterrogatorTime) };
  const cursor = encodeCursor(next);
  if (cursor) result.next = cursor;
  if (page.hidden > 0) result.hidden = page.hidden;
  if (page.unreadable.length > 0) result.unreadable = page.unreadable;
  return result;
}
