import { randomBytes, randomUUID } from 'node:crypto';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { dynamo } from '../../src/lib/aws/dynamo';
import { config } from '../../src/lib/config';
import { currentDataKey } from '../../src/lib/crypto/data-keys';
import { type InlineMessage, readingsMessage, sealReadings } from '../../src/lib/readings/messages';
import { rowKey } from '../../src/lib/readings/rows';

/** A real, sealed readings message as ingest would enqueue it. */
export async function sealedMessage(
  deviceId: string,
  count: number,
  firstRelativeTime = 0,
): Promise<InlineMessage> {
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
  return readingsMessage({ deviceId, batchId, arrivedAt: Date.now(), keyId }, readings);
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
