import { createHash, randomBytes } from 'node:crypto';
import { evaluateAlertRulesSafely } from '../alerts/at-ingest';
import { MAX_SQS_MESSAGE_BYTES, sendMessages, sqsMessageBytes } from '../aws/sqs-batch';
import { config } from '../config';
import { currentDataKey } from '../crypto/data-keys';
import { getDevice } from '../devices/devices';
import { passwordForWriting } from '../devices/passwords';
import { UnavailableError } from '../errors';
import { logger } from '../logger';
import { count, MetricName } from '../observability';
import { type SealedChunk, sealChunks } from './chunks';
import { type ClockSkewResult, checkClockSkew, recordClockSkew } from './clock-skew';
import { arrivalTimeFor, requestFingerprint } from './idempotency';
import { type AuditEntry, CORRELATION_ATTRIBUTE, chunkedMessage, type LatestReading } from './messages';
import { readingTimeMs } from './reading-time';
import { rowKey } from './rows';
import { spillMessage } from './spill';
import type { IncomingReading } from './wire';

export interface IngestRequest {
  deviceId: string;
  /** Who sent it, for the audit trail. */
  actor: string;
  route: string;
  requestId: string;
  readings: IncomingReading[];
  /** Client-chosen key making a retried request rewrite the same rows instead of adding copies. */
  idempotencyKey?: string;
}

/** Time-ordered and unique; derived from the idempotency key when the client sent one. */
function newBatchId(deviceId: string, idempotencyKey?: string): string {
  if (idempotencyKey) {
    return `k${createHash('sha256').update(`${deviceId}\n${idempotencyKey}`).digest('base64url').slice(0, 24)}`;
  }
  return `${Date.now().toString(36).padStart(9, '0')}${randomBytes(9).toString('base64url')}`;
}

/** Groups by password: each password seals its readings under its own key. */
function byPassword(readings: readonly IncomingReading[]): Map<string | undefined, number[]> {
  const groups = new Map<string | undefined, number[]>();
  readings.forEach((reading, index) => {
    const group = groups.get(reading.password) ?? [];
    group.push(index);
    groups.set(reading.password, group);
  });
  return groups;
}

/** The key (and password verifier) each password's readings are sealed with; `undefined`: no password. */
export type SealingKeys = ReadonlyMap<string | undefined, { key: Buffer; verifier?: string }>;

/**
 * A request's readings as the queue carries them: chunks (chunks.ts), each password's readings under
 * that password's key, ids `<batch id>-<position in the request>`; and its latest reading (by reading
 * time, the later position winning a tie).
 */
export function sealRequest(
  readings: readonly IncomingReading[],
  header: { deviceId: string; batchId: string; arrivedAt: number },
  keys: SealingKeys,
): { chunks: SealedChunk[]; latest: LatestReading } {
  const chunks: SealedChunk[] = [];
  for (const [password, indexes] of byPassword(readings)) {
    const sealing = keys.get(password);
    if (!sealing) throw new Error('no sealing key for a password group');
    const group = indexes.map((number) => {
      const { relativeTime, interrogatorTime, freeform } = readings[number] as IncomingReading;
      return { number, relativeTime, interrogatorTime, freeform };
    });
    chunks.push(...sealChunks(sealing.key, header, group, chunks.length, sealing.verifier));
  }
  let latest: LatestReading | undefined;
  readings.forEach((reading, index) => {
    const t = readingTimeMs(reading.interrogatorTime, header.arrivedAt);
    if (!latest || t >= latest.t) latest = { t, rt: reading.relativeTime, id: `${header.batchId}-${index}` };
  });
  return { chunks, latest: latest as LatestReading };
}

/** The device's key, and each password's derived key and verifier (KDF, possibly a write of the verifier). */
async function sealingKeys(request: IngestRequest, dataKey: Buffer): Promise<SealingKeys> {
  const { deviceId } = request;
  const passwords = [...byPassword(request.readings).keys()];
  const device = passwords.some((password) => password !== undefined) ? await getDevice(deviceId) : undefined;
  const keys = new Map<string | undefined, { key: Buffer; verifier?: string }>();
  for (const password of passwords) {
    if (password !== undefined && device) {
      const { passwordDerivedKey, verifier } = await passwordForWriting(device, password);
      keys.set(password, { key: rowKey(dataKey, deviceId, passwordDerivedKey), verifier });
    } else {
      keys.set(password, { key: rowKey(dataKey, deviceId) });
    }
  }
  return keys;
}

/**
 * Seals the readings (chunks: compressed, AES-256-GCM, fresh IV, AAD = device + chunk) and enqueues the request
 * as ONE message (inline, or spilled to the ingest bucket when over SQS's 1 MiB), so it is in the
 * queue whole or not at all; resolves only then, which is when the API may answer 202.
 */
export async function acceptReadings(
  request: IngestRequest,
): Promise<{ ids: string[]; clockSkew: ClockSkewResult }> {
  const { deviceId, readings } = request;
  const now = Date.now();
  const batchId = newBatchId(deviceId, request.idempotencyKey);
  const arrivedAt = request.idempotencyKey
    ? await arrivalTimeFor(batchId, deviceId, requestFingerprint(readings), now)
    : now;
  const clockSkew = await checkClockSkew(
    deviceId,
    readings.map((reading) => reading.interrogatorTime),
    arrivedAt,
  );
  const ids = readings.map((_, index) => `${batchId}-${index}`);
  const { keyId, key: dataKey } = await currentDataKey(readings.length);
  const audit: AuditEntry = {
    requestId: request.requestId,
    at: now,
    actor: request.actor,
    route: request.route,
    deviceId,
    rows: readings.length,
    action: 'write',
  };
  const header = { deviceId, batchId, arrivedAt };
  const { chunks, latest } = sealRequest(readings, header, await sealingKeys(request, dataKey));
  const message = chunkedMessage({ ...header, keyId, latest }, chunks, audit);
  const attributes = { [CORRELATION_ATTRIBUTE]: { DataType: 'String', StringValue: request.requestId } };
  let body = JSON.stringify(message);
  const spilled = sqsMessageBytes({ body, attributes }) > MAX_SQS_MESSAGE_BYTES;
  if (spilled) body = JSON.stringify(await spillMessage(header, body));

  const failed = await sendMessages(config.READINGS_QUEUE_URL, [{ id: '0', body, attributes }]);
  if (failed.length > 0) {
    logger.error('could not enqueue readings', { batchId, errorCode: failed[0]?.code });
    throw new UnavailableError('The readings queue is not accepting messages; retry later');
  }
  count(MetricName.ReadingsAccepted, readings.length);
  logger.info('readings accepted', { readings: readings.length, batchId, spilled });
  await recordClockSkew(deviceId, clockSkew);
  // Only once the readings are durable: a request that failed before is retried whole, never half-evaluated.
  await evaluateAlertRulesSafely({ deviceId, batchId, arrivedAt, readings });
  return { ids, clockSkew };
}
