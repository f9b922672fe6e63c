import { randomBytes, randomUUID } from 'node:crypto';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { seal } from '../../src/lib/crypto/cipher';
import { currentDataKey } from '../../src/lib/crypto/data-keys';
import { packMessages, type ReadingsMessage } from '../../src/lib/readings/messages';
import { readingAad, rowKey } from '../../src/lib/readings/rows';

/** A real, sealed readings message as ingest would enqueue it. */
export async function sealedMessage(
  deviceId: string,
  count: number,
  firstRelativeTime = 0,
): Promise<ReadingsMessage> {
  const { keyId, key } = await currentDataKey(count);
  const batchId = `b${randomBytes(8).toString('hex')}`;
  const readings = Array.from({ length: count }, (_, index) => {
    const id = `${batchId}-${index}`;
    const sealed = seal(
      rowKey(key, deviceId),
      Buffer.from(JSON.stringify({ n: index })),
      readingAad(deviceId, id),
    );
    return {
      id,
      rt: firstRelativeTime + index,
      it: 1_000 + index,
      iv: sealed.iv.toString('base64'),
      ct: sealed.ciphertext.toString('base64'),
    };
  });
  const [message] = packMessages({ v: 1, deviceId, batchId, arrivedAt: Date.now(), keyId }, readings);
  if (!message) throw new Error('no message');
  return message;
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

export const lambdaContext = (timeoutMs = 30_000): Context => {
  const started = Date.now();
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'test',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:test',
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: 'test',
    logStreamName: 'test',
    getRemainingTimeInMillis: () => timeoutMs - (Date.now() - started),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
};
