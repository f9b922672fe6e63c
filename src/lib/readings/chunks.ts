import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { open, seal } from '../crypto/cipher';
import { encodeRelativeTime } from './rows';

// Readings are stored in chunks: the readings of one message that share a device, a relative-time
// bucket and a db_password are one item, compressed and sealed as one value. A window query is still
// one Query on the sort key, because a chunk's key starts with its smallest relative time and a chunk
// never spans more than one bucket (so a chunk reaching into a window starts in the window's first
// bucket, where a key-only probe finds it).
//
//   Chunk: deviceId | sk = <sortable lowest relative time>#<batch id>.<part>
//          n, hi (highest relative time), at, kid, pv?, ix (the rows' relative times and id numbers,
//          plaintext like the old layout's times), iv, ct (sealed deflate of [[interrogator_time,
//          freeform], …] in ix order)
//
// The additional data binds the ciphertext to the device, the chunk's key, its arrival time, password
// verifier and index, so a chunk copied elsewhere, or an index edited, fails to open.

/**
 * Width of a bucket in relative-time units: 10 s when relative times are microseconds, as the
 * original interrogator sends them. A window's first page probes at most this much below its start
 * (keys only), and a request's readings that span more are split at bucket edges (cheaply: write units
 * are per KB, so two half chunks cost about what one chunk does).
 */
export const CHUNK_SPAN = 10_000_000;
/** Plaintext bytes per chunk before compression: far inside DynamoDB's 400 KB item even if incompressible. */
export const CHUNK_MAX_PLAINTEXT_BYTES = 256 * 1024;
export const CHUNK_MAX_ROWS = 1_000;

const MIN_RELATIVE = -(2 ** 53) + 1;

/** First relative time of the bucket `relativeTime` falls in (clamped to the safe range). */
export const bucketStart = (relativeTime: number) =>
  Math.max(MIN_RELATIVE, Math.floor(relativeTime / CHUNK_SPAN) * CHUNK_SPAN);

/** `<batch id>.<part>`: a chunk's name, unique per message. */
export const CHUNK_SORT_KEY = /^[01]\d{16}#[A-Za-z0-9_-]{1,64}\.\d{1,4}$/;
export const chunkSortKey = (lowest: number, batchId: string, part: number) =>
  `${encodeRelativeTime(lowest)}#${batchId}.${part}`;

/** A chunk as stored. */
export interface ChunkItem {
  deviceId: string;
  sk: string;
  n: number;
  hi: number;
  /** Arrival at the API, epoch ms. */
  at: number;
  kid: string;
  pv?: string;
  ix: Uint8Array;
  iv: Uint8Array;
  ct: Uint8Array;
  expiresAt?: number;
}

/** `<batch id>.<part>`, from a chunk's sort key. */
export const chunkName = (sortKey: string) => sortKey.slice(18);
export const chunkBatchId = (sortKey: string) => chunkName(sortKey).replace(/\.\d+$/, '');

/** A row of a chunk as its plaintext index knows it. */
export interface IndexedRow {
  rt: number;
  /** The reading's id is `<batch id>-<number>`. */
  number: number;
}

// The index: per row, zig-zag varints of the relative time's and the id number's difference from the
// previous row's (relative times start from the chunk's lowest). Rows are in relative-time order, so
// the differences are small; arithmetic instead of bit operations keeps values above 2^31 exact.
function pushVarint(bytes: number[], value: number) {
  let rest = value < 0 ? -2 * value - 1 : 2 * value;
  while (rest >= 128) {
    bytes.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
}

export function encodeIndex(lowest: number, rows: readonly IndexedRow[]): Buffer {
  const bytes: number[] = [];
  let rt = lowest;
  let number = 0;
  for (const row of rows) {
    pushVarint(bytes, row.rt - rt);
    pushVarint(bytes, row.number - number);
    ({ rt, number } = row);
  }
  return Buffer.from(bytes);
}

export function decodeIndex(lowest: number, index: Uint8Array, count: number): IndexedRow[] {
  const rows: IndexedRow[] = [];
  let offset = 0;
  const next = () => {
    let value = 0;
    let scale = 1;
    for (;;) {
      const byte = index[offset++];
      if (byte === undefined || scale > 2 ** 56) throw new Error('malformed chunk index');
      value += (byte % 128) * scale;
      if (byte < 128) break;
      scale *= 128;
    }
    return value % 2 === 1 ? -(value + 1) / 2 : value / 2;
  };
  let rt = lowest;
  let number = 0;
  for (let row = 0; row < count; row += 1) {
    rt += next();
    number += next();
    rows.push({ rt, number });
  }
  if (offset !== index.length) throw new Error('malformed chunk index');
  return rows;
}

export interface ChunkReading {
  /** Position in the request: the reading's id is `<batch id>-<number>`. */
  number: number;
  relativeTime: number;
  interrogatorTime: number;
  freeform: unknown;
}

/** A chunk as ingest puts it on the queue (binary fields base64). */
export interface SealedChunk {
  part: number;
  lo: number;
  hi: number;
  n: number;
  ix: string;
  iv: string;
  ct: string;
  pv?: string;
}

interface ChunkIdentity {
  deviceId: string;
  sk: string;
  at: number;
  pv?: string;
  ix: Uint8Array;
}

export const chunkAad = ({ deviceId, sk, at, pv, ix }: ChunkIdentity) =>
  Buffer.concat([Buffer.from(`sensorcloud/chunk/v1\n${deviceId}\n${sk}\n${at}\n${pv ?? ''}\n`), ix]);

/**
 * Cuts one message's readings (all sealed under one key, i.e. one db_password or none) into chunks:
 * by bucket, in relative-time order, then by rows and plaintext bytes. Parts are numbered from
 * `firstPart` so a message's password groups never share a chunk name.
 */
export function sealChunks(
  key: Buffer,
  header: { deviceId: string; batchId: string; arrivedAt: number },
  readings: readonly ChunkReading[],
  firstPart: number,
  verifierId?: string,
): SealedChunk[] {
  const sorted = [...readings].sort((a, b) => a.relativeTime - b.relativeTime || a.number - b.number);
  const chunks: SealedChunk[] = [];
  let rows: Array<{ reading: ChunkReading; json: string }> = [];
  let bytes = 0;
  const flush = () => {
    if (rows.length === 0) return;
    const first = rows[0]?.reading as ChunkReading;
    const last = rows[rows.length - 1]?.reading as ChunkReading;
    const part = firstPart + chunks.length;
    const ix = encodeIndex(
      first.relativeTime,
      rows.map(({ reading }) => ({ rt: reading.relativeTime, number: reading.number })),
    );
    const sk = chunkSortKey(first.relativeTime, header.batchId, part);
    const plaintext = Buffer.from(
      `[${rows.map(({ reading, json }) => `[${reading.interrogatorTime},${json}]`).join(',')}]`,
    );
    const { iv, ciphertext } = seal(
      key,
      deflateRawSync(plaintext),
      chunkAad({ deviceId: header.deviceId, sk, at: header.arrivedAt, pv: verifierId, ix }),
    );
    chunks.push({
      part,
      lo: first.relativeTime,
      hi: last.relativeTime,
      n: rows.length,
      ix: ix.toString('base64'),
      iv: iv.toString('base64'),
      ct: ciphertext.toString('base64'),
      ...(verifierId ? { pv: verifierId } : {}),
    });
    rows = [];
    bytes = 0;
  };
  for (const reading of sorted) {
    const json = JSON.stringify(reading.freeform);
    // The row's JSON plus its interrogator time and punctuation.
    const size = Buffer.byteLength(json) + 24;
    const first = rows[0]?.reading;
    if (
      first &&
      (bucketStart(first.relativeTime) !== bucketStart(reading.relativeTime) ||
        rows.length === CHUNK_MAX_ROWS ||
        bytes + size > CHUNK_MAX_PLAINTEXT_BYTES)
    )
      flush();
    rows.push({ reading, json });
    bytes += size;
  }
  flush();
  return chunks;
}

export interface OpenedRow {
  rt: number;
  number: number;
  it: number;
  freeform: unknown;
  /** Bytes of the freeform's JSON, as it will be answered. */
  freeformBytes: number;
}

/** Opens a stored chunk; throws when it fails authentication or does not match its index. */
export function openChunk(
  key: Buffer,
  identity: ChunkIdentity & { iv: Uint8Array; ct: Uint8Array },
  index: IndexedRow[],
): OpenedRow[] {
  const plaintext = inflateRawSync(
    open(key, { iv: Buffer.from(identity.iv), ciphertext: Buffer.from(identity.ct) }, chunkAad(identity)),
    { maxOutputLength: CHUNK_MAX_PLAINTEXT_BYTES * 2 },
  );
  const values = JSON.parse(plaintext.toString('utf8')) as Array<[number, unknown]>;
  if (!Array.isArray(values) || values.length !== index.length)
    throw new Error('chunk does not match its index');
  return index.map((row, position) => {
    const [it, freeform] = values[position] as [number, unknown];
    return {
      rt: row.rt,
      number: row.number,
      it,
      freeform,
      freeformBytes: Buffer.byteLength(JSON.stringify(freeform)),
    };
  });
}
