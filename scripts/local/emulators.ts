import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import {
  GetQueueAttributesCommand,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { createSqsServer } from 'local-aws-sqs';
import S3rver from 's3rver';
import { localAccountId, localRegion } from './aws-local';

export interface RunningEmulator {
  endpoint: string;
  stop(): Promise<void>;
}

const closeServer = (server: Server) =>
  new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });

/** In-process SQS emulator (JSON and Query protocols). It keeps messages in memory only. */
export async function startSqsEmulator(port: number): Promise<RunningEmulator> {
  const server = await createSqsServer({
    port,
    hostname: '127.0.0.1',
    accountId: localAccountId,
    region: localRegion,
    emulateQueueCreationLifecycle: false,
  });
  return { endpoint: `http://127.0.0.1:${port}`, stop: () => closeServer(server) };
}

export interface S3Emulator extends RunningEmulator {
  onObjectEvent(listener: (event: { Records: never[] }) => void): void;
}

/** In-process S3 emulator storing objects under `directory`. */
export async function startS3Emulator(port: number, directory: string): Promise<S3Emulator> {
  mkdirSync(directory, { recursive: true });
  const s3rver = new S3rver({ port, address: '127.0.0.1', directory, silent: true, resetOnClose: false });
  await s3rver.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    onObjectEvent: (listener) => s3rver.on('event', listener),
    stop: async () => {
      s3rver.httpServer?.closeAllConnections();
      await s3rver.close();
    },
  };
}

/**
 * Visible and in-flight messages. The emulator's ApproximateNumberOfMessages also counts in-flight
 * messages (AWS counts only visible ones), hence the subtraction.
 */
export async function queueCounts(
  sqs: SQSClient,
  queueUrl: string,
): Promise<{ visible: number; inFlight: number }> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  const all = Number(Attributes.ApproximateNumberOfMessages ?? 0);
  const inFlight = Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0);
  return { visible: Math.max(0, all - inFlight), inFlight };
}

interface SavedMessage {
  body: string;
  attributes?: Record<string, MessageAttributeValue>;
}

/**
 * The SQS emulator forgets everything when it stops. Before it does, whatever is still queued (the
 * dead-letter queue above all) is saved to a file and re-sent at the next start: nothing accepted
 * is lost across a restart of `npm run dev`.
 */
export async function snapshotQueue(sqs: SQSClient, queueUrl: string, file: string): Promise<number> {
  const saved: SavedMessage[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 300,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) break;
    for (const message of Messages)
      saved.push({ body: message.Body ?? '', attributes: message.MessageAttributes });
  }
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(saved));
  return saved.length;
}

export async function restoreQueue(sqs: SQSClient, queueUrl: string, file: string): Promise<number> {
  let saved: SavedMessage[];
  try {
    saved = JSON.parse(readFileSync(file, 'utf8')) as SavedMessage[];
  } catch {
    return 0;
  }
  for (let index = 0; index < saved.length; index += 10) {
    const group = saved.slice(index, index + 10);
    const result = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: group.map((message, offset) => ({
          Id: String(offset),
          MessageBody: message.body,
          MessageAttributes: message.attributes,
        })),
      }),
    );
    if (result.Failed?.length)
      throw new Error(`could not restore ${result.Failed.length} message(s) to ${queueUrl}`);
  }
  // Restored: the file no longer holds anything the queue does not.
  writeFileSync(file, '[]');
  return saved.length;
}
