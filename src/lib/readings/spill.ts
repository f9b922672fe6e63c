import { createHash } from 'node:crypto';
import { GetObjectCommand, NoSuchKey, PutObjectCommand } from '@aws-sdk/client-s3';
import { s3 } from '../aws/s3';
import { config } from '../config';
import type { SpilledMessage } from './messages';

// The claim check for requests whose sealed message exceeds SQS's 1 MiB: the message is stored in
// the ingest bucket (sealed already, like the queue's copy) and the queue carries its key, size and
// hash. The bucket's lifecycle keeps objects longer than a message can live in the queue and its
// dead-letter queue together.

const objectKey = (deviceId: string, batchId: string) =>
  `readings/${createHash('sha256').update(deviceId).digest('base64url').slice(0, 16)}/${batchId}.json`;

/** Stores the message body; resolves to the pointer the queue carries instead. */
export async function spillMessage(
  header: Pick<SpilledMessage, 'deviceId' | 'batchId' | 'arrivedAt'>,
  body: string,
): Promise<SpilledMessage> {
  const bytes = Buffer.from(body);
  const key = objectKey(header.deviceId, header.batchId);
  await s3.send(
    new PutObjectCommand({
      Bucket: config.INGEST_BUCKET,
      Key: key,
      Body: bytes,
      ContentType: 'application/json',
    }),
  );
  return {
    v: 2,
    deviceId: header.deviceId,
    batchId: header.batchId,
    arrivedAt: header.arrivedAt,
    spilled: { key, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('base64url') },
  };
}

export class SpilledMessageLost extends Error {}

/** The body a pointer refers to, checked against its size and hash. */
export async function readSpilledMessage(pointer: SpilledMessage): Promise<string> {
  let body: Buffer;
  try {
    const response = await s3.send(
      new GetObjectCommand({ Bucket: config.INGEST_BUCKET, Key: pointer.spilled.key }),
    );
    body = Buffer.from((await response.Body?.transformToByteArray()) ?? new Uint8Array());
  } catch (error) {
    if (error instanceof NoSuchKey || (error as Error).name === 'NoSuchKey')
      throw new SpilledMessageLost(`spilled message ${pointer.spilled.key} is gone`);
    throw error;
  }
  const sha256 = createHash('sha256').update(body).digest('base64url');
  if (body.length !== pointer.spilled.bytes || sha256 !== pointer.spilled.sha256)
    throw new SpilledMessageLost(`spilled message ${pointer.spilled.key} does not match its pointer`);
  return body.toString('utf8');
}
