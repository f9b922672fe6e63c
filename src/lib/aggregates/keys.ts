import { createHmac } from 'node:crypto';
import { deriveKey } from '../crypto/cipher';

// How aggregates are laid out in the aggregates table (partition = device id):
//   partial   m#<minute ms, 13 digits>#<batch id>     one message's fields in one minute; written by
//             the consumer; `pending` = device id until compacted, then a tombstone (c = when).
//   hour      h#<field tag>#<hour ms>                 one field's 60 minute slots
//   day       d#<field tag>#<day ms>                  one field's 24 hour slots
//   field     f#<field tag>                           the field's name and count (the catalogue)
//   state     state                                   v = compactions so far (queries check it)
// A field tag is an HMAC of the field path, so field names (part of the readings' content) are never
// plaintext at rest; every item's content is sealed, bound (AAD) to its device and sort key.

const pad = (ms: number) => String(Math.max(0, ms)).padStart(13, '0');

export const partialSortKey = (minute: number, batchId: string) => `m#${pad(minute)}#${batchId}`;
export const partialRange = (start: number, end: number) => ({
  from: `m#${pad(start)}#`,
  to: `m#${pad(end - 1)}#~`,
});
export const PARTIAL_SORT_KEY = /^m#(\d{13})#[A-Za-z0-9_-]{1,64}$/;
export const minuteOfPartial = (sk: string) => Number(sk.slice(2, 15));

export const hourSortKey = (tag: string, hour: number) => `h#${tag}#${pad(hour)}`;
export const daySortKey = (tag: string, day: number) => `d#${tag}#${pad(day)}`;
export const summaryTime = (sk: string) => Number(sk.slice(-13));
export const fieldSortKey = (tag: string) => `f#${tag}`;
export const FIELD_SORT_KEY = /^f#[A-Za-z0-9_-]{22}$/;
export const STATE_SORT_KEY = 'state';

export const aggregateAad = (deviceId: string, sk: string) =>
  Buffer.from(`sensorcloud/aggregate/v1\n${deviceId}\n${sk}`);

/** The key field tags are made with, from a long-lived secret (tags must not change when data keys rotate). */
export const fieldTagKey = (secret: Buffer) =>
  deriveKey(secret, Buffer.from('sensorcloud/aggregates'), 'sensorcloud/aggregate-field-tag/v1');

export const fieldTag = (tagKey: Buffer, deviceId: string, field: string) =>
  createHmac('sha256', tagKey).update(`${deviceId}\n${field}`).digest('base64url').slice(0, 22);
