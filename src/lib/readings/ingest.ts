import { createHash, randomBytes } from 'node:crypto';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { sqs } from '../aws/sqs';
import { config } from '../config';
import { currentDataKey } from '../crypto/data-keys';
import { getDevice } from '../devices/devices';
import { passwordForWriting } from '../devices/passwords';
import { UnavailableError } from '../errors';
import { logger } from '../logger';
import { count, MetricName } from '../observability';
import {
  type AuditEntry,
  CORRELATION_ATTRIBUTE,
  MAX_BATCH_BYTES,
  MAX_BATCH_ENTRIES,
  MESSAGE_ATTRIBUTE_BYTES,
  packMessages,
  type ReadingsMessage,
  sealReadings,
} from './messages';
import { rowKey } from './rows';
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

const SEND_ATTEMPTS = 4;

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

async function sendAll(messages: ReadingsMessage[], correlationId: string): Promise<void> {
  const bodies = messages.map((message) => JSON.stringify(message));
  // Entries per call: at most 10 and 1 MiB together.
  const calls: number[][] = [];
  let call: number[] = [];
  let bytes = 0;
  bodies.forEach((body, index) => {
    const size = Buffer.byteLength(body) + MESSAGE_ATTRIBUTE_BYTES;
    if (call.length === MAX_BATCH_ENTRIES || bytes + size > MAX_BATCH_BYTES) {
      calls.push(call);
      call = [];
      bytes = 0;
    }
    call.push(index);
    bytes += size;
  });
  if (call.length) calls.push(call);

  await Promise.all(
    calls.map(async (indexes) => {
      let pending = indexes;
      for (let attempt = 1; pending.length > 0; attempt += 1) {
        const result = await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: config.READINGS_QUEUE_URL,
            Entries: pending.map((index) => ({
              Id: String(index),
              MessageBody: bodies[index],
              MessageAttributes: {
                [CORRELATION_ATTRIBUTE]: { DataType: 'String', StringValue: correlationId },
              },
            })),
          }),
        );
        const failed = new Set((result.Failed ?? []).map((entry) => Number(entry.Id)));
        pending = pending.filter((index) => failed.has(index));
        if (pending.length === 0) return;
        if (attempt >= SEND_ATTEMPTS) {
          logger.error('could not enqueue readings', { failedMessages: pending.length });
          throw new UnavailableError('The readings queue is not accepting messages; retry later');
        }
        await new Promise((resolve) => setTimeout(resolve, 2 ** attempt * 25 + Math.random() * 25));
      }
    }),
  );
}

/**
 * Seals every reading (AES-256-GCM, per-row IV, AAD = device + reading id) and enqueues them; resolves
 * only when every message is in SQS, which is when the API may answer 202.
 */
export async function acceptReadings(request: IngestRequest): Promise<{ ids: string[] }> {
  const { deviceId, readings } = request;
  const arrivedAt = Date.now();
  const batchId = newBatchId(deviceId, request.idempotencyKey);
  const ids = readings.map((_, index) => `${batchId}-${index}`);
  const { keyId, key: dataKey } = await currentDataKey(readings.length);
  const groups = byPassword(readings);
  const device = [...groups.keys()].some((password) => password !== undefined)
    ? await getDevice(deviceId)
    : undefined;

  const audit: AuditEntry = {
    requestId: request.requestId,
    at: arrivedAt,
    actor: request.actor,
    route: request.route,
    deviceId,
    rows: readings.length,
    action: 'write',
  };
  const messages: ReadingsMessage[] = [];
  for (const [password, indexes] of groups) {
    let passwordDerivedKey: Buffer | undefined;
    let verifier: string | undefined;
    if (password !== undefined && device) {
      ({ passwordDerivedKey, verifier } = await passwordForWriting(device, password));
    }
    const sealed = sealReadings(
      rowKey(dataKey, deviceId, passwordDerivedKey),
      deviceId,
      indexes.map((index) => {
        const { relativeTime, interrogatorTime, freeform } = readings[index] as IncomingReading;
        return { id: ids[index] as string, relativeTime, interrogatorTime, freeform };
      }),
    );
    messages.push(
      ...packMessages(
        { v: 1, deviceId, batchId, arrivedAt, keyId, ...(verifier ? { verifierId: verifier } : {}) },
        sealed,
        audit,
        messages.length,
      ),
    );
  }
  await sendAll(messages, request.requestId);
  count(MetricName.ReadingsAccepted, readings.length);
  logger.info('readings accepted', { readings: readings.length, messages: messages.length, batchId });
  return { ids };
}
