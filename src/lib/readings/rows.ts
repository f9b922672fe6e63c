import { deriveKey } from '../crypto/cipher';

// How readings are laid out in DynamoDB.
//   Chunk:    deviceId | sk = <sortable lowest relative time>#<batch id>.<part>   (chunks.ts)
//   Reading:  deviceId | sk = <sortable relative time>#<reading id>  (one item per reading, as stored
//             before chunks; still read, in the same Query)
//   Arrival:  deviceId = "<deviceId>#arrivals" | sk = <arrival ms>#<batch>#<seq>, chunks = [chunk sk…]
//             and n (readings), or rows = [reading sk…]
//   Latest:   deviceId = "<deviceId>#latest" | sk = <reading time ms>#<reading id>  (latest.ts)
// The arrival log is one small item per SQS message; "arrived in the last n seconds" is a Query on it,
// which costs one extra write per message instead of a second index entry per reading.

/** A reading as stored: everything but the freeform is plaintext metadata. */
export interface ReadingItem {
  deviceId: string;
  sk: string;
  id: string;
  rt: number;
  it: number;
  /** Arrival at the API, epoch ms. */
  at: number;
  kid: string;
  /** Verifier id of the db_password it was sealed with, if any. */
  pv?: string;
  iv: Uint8Array;
  ct: Uint8Array;
  expiresAt?: number;
}

export interface ArrivalItem {
  deviceId: string;
  sk: string;
  /** Sort keys of the message's chunks, in order, and how many readings they hold. */
  chunks?: string[];
  n?: number;
  /** Messages from before chunks: the sort key of each reading's item. */
  rows?: string[];
  expiresAt?: number;
}

// Relative times are signed safe integers. Sortable as strings: a sign digit ('0' negative, '1' not),
// then 16 zero-padded digits, the negatives offset by MAX_SAFE_INTEGER (which keeps every value exact).
export const encodeRelativeTime = (relativeTime: number) =>
  relativeTime < 0
    ? `0${String(Number.MAX_SAFE_INTEGER + relativeTime).padStart(16, '0')}`
    : `1${String(relativeTime).padStart(16, '0')}`;

/** The relative time a reading or chunk sort key starts with. */
export const decodeRelativeTime = (sortKey: string) => {
  const digits = Number(sortKey.slice(1, 17));
  return sortKey[0] === '0' ? digits - Number.MAX_SAFE_INTEGER : digits;
};

/** What readingSortKey and arrivalSortKey produce (reading ids are `<batch id>-<index>`). */
export const READING_SORT_KEY = /^[01]\d{16}#[A-Za-z0-9_-]{1,64}$/;
export const ARRIVAL_SORT_KEY = /^\d{13}#[A-Za-z0-9_-]{1,64}#\d{1,6}$/;

export const readingSortKey = (relativeTime: number, readingId: string) =>
  `${encodeRelativeTime(relativeTime)}#${readingId}`;

/** Sort-key bounds for relative times in [start, end]. */
export const relativeTimeRange = (start: number, end: number) => ({
  from: `${encodeRelativeTime(start)}#`,
  to: `${encodeRelativeTime(end)}#~`,
});

export const arrivalsPartition = (deviceId: string) => `${deviceId}#arrivals`;
export const arrivalSortKey = (arrivedAtMs: number, batchId: string, seq: number) =>
  `${String(arrivedAtMs).padStart(13, '0')}#${batchId}#${seq}`;
export const arrivalLowerBound = (sinceMs: number) => String(sinceMs).padStart(13, '0');

/** Binds a sealed freeform to its device and reading: copied to another row, it fails to open. */
export const readingAad = (deviceId: string, readingId: string) =>
  Buffer.from(`sensorcloud/reading/v1\n${deviceId}\n${readingId}`);

/** The key rows are sealed with: per device, and additionally per password when one is given. */
export function rowKey(dataKey: Buffer, deviceId: string, passwordDerivedKey?: Buffer): Buffer {
  return passwordDerivedKey
    ? deriveKey(
        Buffer.concat([dataKey, passwordDerivedKey]),
        Buffer.from(deviceId),
        'sensorcloud/reading-key/password/v1',
      )
    : deriveKey(dataKey, Buffer.from(deviceId), 'sensorcloud/reading-key/v1');
}

/** The original service's absolute_timestamp format: UTC "YYYY-MM-DD HH:MM:SS". */
export const absoluteTimestamp = (epochMs: number) =>
  new Date(epochMs).toISOString().slice(0, 19).replace('T', ' ');

export function expiresAt(arrivedAtMs: number, retentionDays: number): number | undefined {
  return retentionDays > 0 ? Math.floor(arrivedAtMs / 1000) + retentionDays * 86_400 : undefined;
}
