import { createHash, randomBytes } from 'node:crypto';
import { sealPartials } from '../aggregates/partials';
import { MAX_SQS_MESSAGE_BYTES, sendMessages, sqsMessageBytes } from '../aws/sqs-batch';
import { config } from '../config';
import { currentDataKey } from '../crypto/data-keys';
import { getDevice } from '../devices/devices';
import { passwordForWriting } from '../devices/passwords';
import { UnavailableError } from '../errors';
import { logger } from '../logger';
import { count, MetricName } from '../observability';
import { arrivalTimeFor, requestFingerprint } from './idempotency';
import {
  type AuditEntry,
  CORRELATION_ATTRIBUTE,
  readingsMessage,
  type SealedReading,
  sealReadings,
} from './messages';
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
function byPassword(readings: IncomingReading[]): Map<string | undefined, number[]> {
  const groups = new Map<string | undefined, number[]>();
  readings.forEach((reading, index) => {
    const group = groups.get(reading.password) ?? [];
    group.push(index);
    groups.set(reading.password, group);
  });
  return groups;
}

/** Seals each reading under its device's key, and its password's when it has one; ids in request order. */
async function sealAll(request: IngestRequest, ids: string[], dataKey: Buffer): Promise<SealedReading[]> {
  const { deviceId, readings } = request;
  const groups = byPassword(readings);
  const device = [...groups.keys()].some((password) => password !== undefined)
    ? await getDevice(deviceId)
    : undefined;
  const sealed = new Array<SealedReading>(readings.length);
  for (const [password, indexes] of groups) {
    let passwordDerivedKey: Buffer | undefined;
    let verifier: string | undefined;
    if (password !== undefined && device) {
      ({ passwordDerivedKey, verifier } = await passwordForWriting(device, password));
    }
    const group = sealReadings(
      rowKey(dataKey, deviceId, passwordDerivedKey),
      deviceId,
      indexes.map((index) => {
        const { relativeTime, interrogatorTime, freeform } = readings[index] as IncomingReading;
        return { id: ids[index] as string, relativeTime, interrogatorTime, freeform };
      }),
      verifier,
    );
    indexes.forEach((index, position) => {
      sealed[index] = group[position] as SealedReading;
    });
  }
  return sealed;
}

/**
 * Seals every reading (AES-256-GCM, per-row IV, AAD = device + reading id) and enqueues the request
 * as ONE message (inline, or spilled to the ingest bucket when over SQS's 1 MiB), so it is in the
 * queue whole or not at all; resolves only then, which is when the API may answer 202.
 */
export async function acceptReadings(request: IngestRequest): Promise<{ ids: string[] }> {
  const { deviceId, readings } = request;
  const now = Date.now();
  const batchId = newBatchId(deviceId, request.idempotencyKey);
  const arrivedAt = request.idempotencyKey
    ? await arrivalTimeFor(batchId, deviceId, requestFingerprint(readings), now)
    : now;
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
  const agg = sealPartials(dataKey, header, readings);
  const message = readingsMessage({ ...header, keyId }, await sealAll(request, ids, dataKey), audit, agg);
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
  return { ids };
}
