import * as z from 'zod';
import { sealMany } from '../crypto/cipher';
import { readingAad } from './rows';

// What ingest puts on the queue: readings already sealed, so no plaintext freeform or password ever
// reaches SQS (or its dead-letter queue). One request becomes one or more messages.
export const MESSAGE_VERSION = 1;

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/);

export const auditEntrySchema = z.object({
  requestId: z.string(),
  at: z.number(),
  actor: z.string(),
  route: z.string(),
  deviceId: z.string(),
  rows: z.number().int(),
  action: z.enum(['write', 'query']),
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;

export const readingsMessageSchema = z.object({
  v: z.literal(MESSAGE_VERSION),
  deviceId: z.string().min(1),
  batchId: z.string().min(1),
  seq: z.number().int().min(0),
  arrivedAt: z.number().int(),
  keyId: z.string().min(1),
  verifierId: z.string().optional(),
  readings: z
    .array(
      z.object({
        id: z.string().min(1),
        rt: z.number().int(),
        it: z.number().int(),
        iv: base64,
        ct: base64,
      }),
    )
    .min(1),
  /** The request's audit entry travels with its first message, so it is stored exactly when the data is. */
  audit: auditEntrySchema.optional(),
});
export type ReadingsMessage = z.infer<typeof readingsMessageSchema>;
export type SealedReading = ReadingsMessage['readings'][number];

export interface ReadingToSeal {
  id: string;
  relativeTime: number;
  interrogatorTime: number;
  freeform: unknown;
}

/**
 * Seals readings under one row key: each freeform gets its own random IV and is bound (AAD) to the
 * device and reading id; times stay plaintext for the sort key and queries.
 */
export function sealReadings(
  key: Buffer,
  deviceId: string,
  readings: readonly ReadingToSeal[],
): SealedReading[] {
  const sealed = sealMany(
    key,
    readings.map((reading) => ({
      plaintext: Buffer.from(JSON.stringify(reading.freeform)),
      aad: readingAad(deviceId, reading.id),
    })),
  );
  return readings.map((reading, index) => {
    const { iv, ciphertext } = sealed[index] as (typeof sealed)[number];
    return {
      id: reading.id,
      rt: reading.relativeTime,
      it: reading.interrogatorTime,
      iv: iv.toString('base64'),
      ct: ciphertext.toString('base64'),
    };
  });
}

/** Bytes of JSON a message may carry (SQS allows 1 MiB; smaller messages spread work across batches). */
export const MAX_MESSAGE_BYTES = 256 * 1024;
/** The message attribute carrying the API request id to the consumer's logs. */
export const CORRELATION_ATTRIBUTE = 'correlationId';
/** Room left in every message for its attributes (the correlation id); they count toward SQS's size. */
export const MESSAGE_ATTRIBUTE_BYTES = 256;
/** SendMessageBatch: at most 10 entries and 1 MiB in all. */
export const MAX_BATCH_ENTRIES = 10;
export const MAX_BATCH_BYTES = 1024 * 1024;

/** Splits sealed readings into as few messages as fit the size limit, in order. */
export function packMessages(
  header: Omit<ReadingsMessage, 'readings' | 'seq' | 'audit'>,
  readings: SealedReading[],
  audit?: AuditEntry,
  startSeq = 0,
): ReadingsMessage[] {
  const envelopeBytes =
    Buffer.byteLength(JSON.stringify({ ...header, seq: startSeq, readings: [], audit })) +
    16 +
    MESSAGE_ATTRIBUTE_BYTES;
  const messages: ReadingsMessage[] = [];
  let current: SealedReading[] = [];
  let bytes = envelopeBytes;
  const flush = () => {
    if (current.length === 0) return;
    const seq = startSeq + messages.length;
    messages.push({ ...header, seq, readings: current, ...(seq === 0 && audit ? { audit } : {}) });
    current = [];
    bytes = envelopeBytes;
  };
  for (const reading of readings) {
    const size = Buffer.byteLength(JSON.stringify(reading)) + 1;
    if (bytes + size > MAX_MESSAGE_BYTES) flush();
    current.push(reading);
    bytes += size;
  }
  flush();
  return messages;
}
