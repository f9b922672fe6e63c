import * as z from 'zod';
import { sealMany } from '../crypto/cipher';
import { readingAad } from './rows';

// What ingest puts on the queue: readings already sealed, so no plaintext freeform or password ever
// reaches SQS (or its dead-letter queue). One request is exactly one message, so a request is
// enqueued whole or not at all: inline when it fits SQS's 1 MiB, otherwise the same message is stored
// in the ingest bucket and the queue carries a pointer to it (the claim-check pattern).
//
//   v2 inline:  {v:2, deviceId, batchId, arrivedAt, keyId, readings:[{id, rt, it, iv, ct, pv?}], audit?}
//   v2 spilled: {v:2, deviceId, batchId, arrivedAt, spilled:{key, bytes, sha256}}
//   v1 (still consumed, e.g. from the dead-letter queue): one of several messages of a request, with
//   seq and a message-wide verifierId.
export const MESSAGE_VERSION = 2;

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/);

export const auditEntrySchema = z.object({
  requestId: z.string(),
  at: z.number(),
  actor: z.string(),
  route: z.string(),
  deviceId: z.string(),
  rows: z.number().int(),
  action: z.enum(['write', 'query', 'export']),
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;

const sealedReadingSchema = z.object({
  id: z.string().min(1),
  rt: z.number().int(),
  it: z.number().int(),
  iv: base64,
  ct: base64,
  /** Verifier id of the db_password it was sealed with, if any. */
  pv: z.string().min(1).optional(),
});
export type SealedReading = z.infer<typeof sealedReadingSchema>;

const header = {
  deviceId: z.string().min(1),
  batchId: z.string().min(1),
  arrivedAt: z.number().int(),
};

const inlineMessageSchema = z.object({
  v: z.literal(2),
  ...header,
  keyId: z.string().min(1),
  readings: z.array(sealedReadingSchema).min(1),
  /** The request's audit entry travels with its data, so it is stored exactly when the data is. */
  audit: auditEntrySchema.optional(),
});
export type InlineMessage = z.infer<typeof inlineMessageSchema>;

const spilledMessageSchema = z.object({
  v: z.literal(2),
  ...header,
  spilled: z.object({
    key: z.string().min(1).max(1024),
    bytes: z.number().int().positive(),
    sha256: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  }),
});
export type SpilledMessage = z.infer<typeof spilledMessageSchema>;

const legacyMessageSchema = z.object({
  v: z.literal(1),
  ...header,
  seq: z.number().int().min(0),
  keyId: z.string().min(1),
  verifierId: z.string().optional(),
  readings: z.array(sealedReadingSchema.omit({ pv: true })).min(1),
  audit: auditEntrySchema.optional(),
});

/** A message's readings as the consumer stores them, whatever version carried them. */
export interface ReadingsBatch {
  deviceId: string;
  batchId: string;
  /** Position among the messages of one request (v1 only; v2 requests are one message). */
  seq: number;
  arrivedAt: number;
  keyId: string;
  readings: SealedReading[];
  audit?: AuditEntry;
}

export type QueuedMessage =
  | { kind: 'batch'; batch: ReadingsBatch }
  | { kind: 'spilled'; pointer: SpilledMessage };

// A pointer is recognised first: whatever else a message carries, `spilled` says where its readings are.
const queuedSchema = z.union([spilledMessageSchema, inlineMessageSchema, legacyMessageSchema]);

/** Parses a queued message body; throws on anything that is not one of the versions above. */
export function parseQueuedMessage(body: string): QueuedMessage {
  const message = queuedSchema.parse(JSON.parse(body));
  if ('spilled' in message) return { kind: 'spilled', pointer: message };
  return { kind: 'batch', batch: toBatch(message) };
}

/** The inline message a spilled pointer refers to; it must name the same device and batch. */
export function parseSpilledBody(pointer: SpilledMessage, body: string): ReadingsBatch {
  const message = inlineMessageSchema.parse(JSON.parse(body));
  if (message.deviceId !== pointer.deviceId || message.batchId !== pointer.batchId)
    throw new Error('spilled message does not match its pointer');
  return toBatch(message);
}

function toBatch(message: InlineMessage | z.infer<typeof legacyMessageSchema>): ReadingsBatch {
  const batch: ReadingsBatch = {
    deviceId: message.deviceId,
    batchId: message.batchId,
    seq: message.v === 1 ? message.seq : 0,
    arrivedAt: message.arrivedAt,
    keyId: message.keyId,
    readings:
      message.v === 1 && message.verifierId
        ? message.readings.map((reading) => ({ ...reading, pv: message.verifierId }))
        : message.readings,
  };
  if (message.audit) batch.audit = message.audit;
  return batch;
}

/** The one message of a request. */
export function readingsMessage(
  header: Pick<InlineMessage, 'deviceId' | 'batchId' | 'arrivedAt' | 'keyId'>,
  readings: SealedReading[],
  audit?: AuditEntry,
): InlineMessage {
  return { v: MESSAGE_VERSION, ...header, readings, ...(audit ? { audit } : {}) };
}

export interface ReadingToSeal {
  id: string;
  relativeTime: number;
  interrogatorTime: number;
  freeform: unknown;
}

/**
 * Seals readings under one row key: each freeform gets its own random IV and is bound (AAD) to the
 * device and reading id; times stay plaintext for the sort key and queries. `verifierId` marks rows
 * sealed under a db_password.
 */
export function sealReadings(
  key: Buffer,
  deviceId: string,
  readings: readonly ReadingToSeal[],
  verifierId?: string,
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
      ...(verifierId ? { pv: verifierId } : {}),
    };
  });
}

/** The message attribute carrying the API request id to the consumer's logs. */
export const CORRELATION_ATTRIBUTE = 'correlationId';
