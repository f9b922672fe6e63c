import { randomBytes, randomUUID } from 'node:crypto';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { dynamo } from '../../src/lib/aws/dynamo';
import { queryAll } from '../../src/lib/aws/paging';
import { config } from '../../src/lib/config';
import { currentDataKey } from '../../src/lib/crypto/data-keys';
import { sealChunks } from '../../src/lib/readings/chunks';
import {
  type ChunkedMessage,
  chunkedMessage,
  type ReadingsMessageV2,
  readingsMessageV2,
  sealReadings,
} from '../../src/lib/readings/messages';
import { rowKey } from '../../src/lib/readings/rows';

/** A real, sealed readings message as ingest enqueues it (chunks), with freeform `{n: index}`. */
export async function sealedMessage(
  deviceId: string,
  count: number,
  firstRelativeTime = 0,
  {
    freeform = (index) => ({ n: index }),
    relativeTime = (index) => firstRelativeTime + index,
  }: { freeform?: (index: number) => unknown; relativeTime?: (index: number) => number } = {},
): Promise<ChunkedMessage> {
  const { keyId, key } = await currentDataKey(count);
  const batchId = `b${randomBytes(8).toString('hex')}`;
  const arrivedAt = Date.now();
  const chunks = sealChunks(
    rowKey(key, deviceId),
    { deviceId, batchId, arrivedAt },
    Array.from({ length: count }, (_, number) => ({
      number,
      relativeTime: relativeTime(number),
      interrogatorTime: 1_000 + number,
      freeform: freeform(number),
    })),
    0,
  );
  const latest = { t: arrivedAt, rt: relativeTime(count - 1), id: `${batchId}-${count - 1}` };
  return chunkedMessage({ deviceId, batchId, arrivedAt, keyId, latest }, chunks);
}

/** Ids of a message's readings, in request order. */
export const idsOf = (message: ChunkedMessage) =>
  Array.from(
    { length: message.chunks.reduce((sum, chunk) => sum + chunk.n, 0) },
    (_, index) => `${message.batchId}-${index}`,
  );

/** A v2 message (one sealed value per reading), as ingest enqueued it before chunks. */
export async function sealedMessageV2(
  deviceId: string,
  count: number,
  firstRelativeTime = 0,
): Promise<ReadingsMessageV2> {
  const { keyId, key } = await currentDataKey(count);
  const batchId = `b${randomBytes(8).toString('hex')}`;
  const readings = sealReadings(
    rowKey(key, deviceId),
    deviceId,
    Array.from({ length: count }, (_, index) => ({
      id: `${batchId}-${index}`,
      relativeTime: firstRelativeTime + index,
      interrogatorTime: 1_000 + index,
      freeform: { n: index },
    })),
  );
  return readingsMessageV2({ deviceId, batchId, arrivedAt: Date.now(), keyId }, readings);
}

export function sqsRecord(body: string, messageId: string = randomUUID()): SQSRecord {
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(Date.now()),
      SenderId: 'test',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:test',
    awsRegion: 'us-east-1',
  };
}

export const sqsEvent = (records: SQSRecord[]): SQSEvent => ({ Records: records });

/** How many items a partition of the readings table holds (a device's rows, or its arrival log). */
export async function itemsInPartition(partition: string): Promise<number> {
  const { Count = 0 } = await dynamo.send(
    new QueryCommand({
      TableName: config.READINGS_TABLE,
      KeyConditionExpression: 'deviceId = :d',
      ExpressionAttributeValues: { ':d': partition },
      Select: 'COUNT',
    }),
  );
  return Count;
}

/** How many readings a device has stored, in chunks (n each) and in items of one reading. */
export async function storedReadings(deviceId: string): Promise<number> {
  const items = await queryAll({
    TableName: config.READINGS_TABLE,
    KeyConditionExpression: 'deviceId = :d',
    ExpressionAttributeValues: { ':d': deviceId },
    ProjectionExpression: 'n',
  });
  return items.reduce((total, item) => total + (typeof item.n === 'number' ? item.n : 1), 0);
}
