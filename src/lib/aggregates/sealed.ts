import * as z from 'zod';
import { open, seal } from '../crypto/cipher';
import { passwordPepper } from '../crypto/pepper';
import { rowKey } from '../readings/rows';
import { aggregateAad, fieldTagKey } from './keys';
import { type Partial, type Stat, statSchema } from './stats';

// The sealed content of each kind of aggregate item, and how it is sealed: AES-256-GCM under the
// device's row key (the data key named by `kid`), AAD = device + sort key, so an item's content
// copied to another item or device fails to open.

/** An aggregate item as stored (partials, summaries, catalogue entries). */
export interface SealedItem {
  deviceId: string;
  sk: string;
  kid: string;
  iv: Uint8Array;
  ct: Uint8Array;
  /** Version of a summary or catalogue entry: every merge is conditional on it. */
  v?: number;
  expiresAt?: number;
}

export function sealJson(dataKey: Buffer, deviceId: string, sk: string, value: unknown) {
  const { iv, ciphertext } = seal(
    rowKey(dataKey, deviceId),
    Buffer.from(JSON.stringify(value)),
    aggregateAad(deviceId, sk),
  );
  return { iv, ct: ciphertext };
}

/** Throws when the item was altered, moved, or does not have the shape its kind has. */
export function openJson<S extends z.ZodType>(
  dataKey: Buffer,
  item: Pick<SealedItem, 'deviceId' | 'sk' | 'iv' | 'ct'>,
  shape: S,
): z.output<S> {
  const plaintext = open(
    rowKey(dataKey, item.deviceId),
    { iv: Buffer.from(item.iv), ciphertext: Buffer.from(item.ct) },
    aggregateAad(item.deviceId, item.sk),
  );
  return shape.parse(JSON.parse(plaintext.toString('utf8')));
}

const fieldMap = z.record(z.string(), statSchema);
/** A partial: `{"<field path>": [count, min, max, sum], …}`. */
export const partialShape = fieldMap.transform((record) => new Map(Object.entries(record)) as Partial);
export const encodePartial = (partial: Partial) => Object.fromEntries(partial);

/** A summary: its field (checked against the tag in its key's place) and slots by index (minute or hour). */
export const summaryShape = z.object({ field: z.string(), slots: z.record(z.string(), statSchema) });
export type Summary = { field: string; slots: Record<string, Stat> };

export const catalogueShape = z.object({ field: z.string(), count: z.number().int().min(0) });
export type CatalogueEntry = z.output<typeof catalogueShape>;

/** The key field tags are made with, derived from the long-lived pepper secret (undefined while none exists). */
export async function tagKey(options: { create: boolean }): Promise<Buffer | undefined> {
  const secret = await passwordPepper(options);
  return secret ? fieldTagKey(secret) : undefined;
}
