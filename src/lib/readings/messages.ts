import * as z from 'zod';
import { type SealedPartials, sealedPartialsSchema } from '../aggregates/message-field';
import { sealMany } from '../crypto/cipher';
import { CHUNK_MAX_ROWS, type SealedChunk } from './chunks';
import { readingAad } from './rows';

// What ingest puts on the queue: readings already sealed, so no plaintext freeform or password ever
// reaches SQS (or its dead-letter queue). One request is exactly one message, so a request is
// enqueued whole or not at all: inline when it fits SQS's 1 MiB, otherwise the same message is stored
// in the ingest bucket and the queue carries a pointer to it (the claim-check pattern).
//
//   v3 inline:  {v:3, deviceId, batchId, arrivedAt, keyId, chunks:[{part, lo, hi, n, ix, iv, ct, pv?}],
//               latest:{t, rt, id}, audit?, agg?}  (chunks: see chunks.ts;
//               agg: src/lib/aggregates)
//   spilled:    {v:2, deviceId, batchId, arrivedAt, spilled:{key, bytes, sha256}} (the object holds a v3
//               or v2 inline message)
//   Still consumed (from the queue or the dead-letter queue after an upgrade), stored one item per reading:
//   v2 inline:  {v:2, deviceId, batchId, arrivedAt, keyId, readings:[{id, rt, it, iv, ct, pv?}], audit?}
//   v1: one of several messages of a request, with seq and a message-wide verifierId.
export const MESSAGE_VERSION = 3;

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/);

export const auditEntrySchema = z.object({
  requestId: z.string(),
  at: z.number(),
  actor: z.string(),
  route: z.string(),
  deviceId: z.string(),
  rows: z.number().int(),
  action: z.enum(['write', 'query', 'export', 'provision', 'provisioning-key']),
  /** Provisioning: what came of the attempt (created, replayed, refused: …) and of key changes. */
  outcome: z.string().optional(),
  /** Provisioning: the key used or changed, and the caller's address (the route is public). */
  keyId: z.string().optional(),
  sourceIp: z.string().optional(),
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

const sealedChunkSchema = z.object({
  part: z.number().int().min(0).max(9_999),
  lo: z.number().int(),
  hi: z.number().int(),
  n: z.number().int().min(1).max(CHUNK_MAX_ROWS),
  ix: base64,
  iv: base64,
  ct: base64,
  pv: z.string().min(1).optional(),
});

/** The request's most recent reading by reading time (reading-time.ts): the device's "latest" record. */
const latestSchema = z.object({ t: z.number().int(), rt: z.number().int(), id: z.string().min(1) });
export type LatestReading = z.infer<typeof latestSchema>;

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

const chunkedMessageSchema = z.object({
  v: z.literal(3),
  ...header,
  keyId: z.string().min(1),
  chunks: z.array(sealedChunkSchema).min(1),
  latest: latestSchema,
  audit: auditEntrySchema.optional(),
  /** Sealed minute partials of its readings without a db_password (src/lib/aggregates). */
  agg: sealedPartialsSchema.optional(),
});
export type ChunkedMessage = z.infer<typeof chunkedMessageSchema>;
/** What ingest enqueues (or spills). */
export type InlineMessage = ChunkedMessage;

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
  /** Position among the messages of one request (v1 only; later requests are one message). */
  seq: number;
  arrivedAt: number;
  keyId: string;
  /** v3: chunks (and no readings). */
  chunks: SealedChunk[];
  /** v1, v2: one sealed value per reading (and no chunks). */
  readings: SealedReading[];
  latest?: LatestReading;
  audit?: AuditEntry;
  agg?: SealedPartials;
}

/** How many readings a batch carries. */
export const readingsIn = (batch: ReadingsBatch) =>
  batch.readings.length + batch.chunks.reduce((sum, chunk) => sum + chunk.n, 0);

export type QueuedMessage =
  | { kind: 'batch'; batch: ReadingsBatch }
  | { kind: 'spilled'; pointer: SpilledMessage };

// A pointer is recognised first: whatever else a message carries, `spilled` says where its readings are.
const queuedSchema = z.union([
  spilledMessageSchema,
  chunkedMessageSchema,
  inlineMessageSchema,
  legacyMessageSchema,
]);
const spilledBodySchema = z.union([chunkedMessageSchema, inlineMessageSchema]);

/** Parses a queued message body; throws on anything that is not one of the versions above. */
export function parseQueuedMessage(body: string): QueuedMessage {
  const message = queuedSchema.parse(JSON.parse(body));
  if ('spilled' in message) return { kind: 'spilled', pointer: message };
  return { kind: 'batch', batch: toBatch(message) };
}

/** The inline message a spilled pointer refers to; it must name the same device and batch. */
export function parseSpilledBody(pointer: SpilledMessage, body: string): ReadingsBatch {
  const message = spilledBodySchema.parse(JSON.parse(body));
  if (message.deviceId !== pointer.deviceId || message.batchId !== pointer.batchId)
    throw new Error('spilled message does not match its pointer');
  return toBatch(message);
}

function toBatch(
  message: ChunkedMessage | z.infer<typeof inlineMessageSchema> | z.infer<typeof legacyMessageSchema>,
): ReadingsBatch {
  const batch: ReadingsBatch = {
    deviceId: message.deviceId,
    batchId: message.batchId,
    seq: message.v === 1 ? message.seq : 0,
    arrivedAt: message.arrivedAt,
    keyId: message.keyId,
    chunks: message.v === 3 ? message.chunks : [],
    readings:
      message.v === 3
        ? []
        : message.v === 1 && message.verifierId
          ? message.readings.map((reading) => ({ ...reading, pv: message.verifierId }))
          : message.readings,
  };
  if (message.v === 3) batch.latest = message.latest;
  if (message.v === 3 && message.agg) batch.agg = message.agg;
  if (message.audit) batch.audit = message.audit;
  return batch;
}

/** The one message of a request. */
export function chunkedMessage(
  header: Pick<ChunkedMessage, 'deviceId' | 'batchId' | 'arrivedAt' | 'keyId' | 'latest'>,
  chunks: SealedChunk[],
  audit?: AuditEntry,
  agg?: SealedPartials,
): ChunkedMessage {
  return { v: MESSAGE_VERSION, ...header, chunks, ...(audit ? { audit } : {}), ...(agg ? { agg } : {}) };
}

/** A v2 message (one sealed value per reading), as ingest enqueued it before chunks. */
export type ReadingsMessageV2 = z.infer<typeof inlineMessageSchema>;
export function readingsMessageV2(
  header: Pick<ReadingsMessageV2, 'deviceId' | 'batchId' | 'arrivedAt' | 'keyId'>,
  readings: SealedReading[],
  audit?: AuditEntry,
): ReadingsMessageV2 {
  return { v: 2, ...header, readings, ...(audit ? { audit } : {}) };
}

export interface ReadingToSeal {
  id: string;
  relativeTime: number;
  interrogatorTime: number;
  freeform: unknown;
}

/**
 * v2 sealing, one value per reading (what rows stored before chunks hold): each freeform gets its own
 * random IV and is bound (AAD) to the device and reading id; times stay plaintext. `verifierId` marks
 * rows sealed under a db_password.
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
