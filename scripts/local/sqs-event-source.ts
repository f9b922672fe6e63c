import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSMessageAttributes, SQSRecord } from 'aws-lambda';
import type { Invoker } from './invoker';

export interface SqsEventSourceOptions {
  functionKey: string;
  queueUrl: string;
  queueArn: string;
  region: string;
  /** serverless.yml `batchSize` (Lambda's default 10). */
  batchSize: number;
  /** serverless.yml `maximumBatchingWindow`, in seconds. */
  maximumBatchingWindowSeconds: number;
  /** `functionResponseType: ReportBatchItemFailures`. */
  reportBatchItemFailures: boolean;
  /** Batches in flight at once (Lambda scales pollers; one or two are plenty locally). */
  concurrency: number;
  sqs: SQSClient;
  invoke: Invoker;
  log: (message: string) => void;
}

export interface BatchOutcome {
  received: number;
  deleted: number;
  failed: number;
  invokeError?: string;
}

const IDLE_POLL_MS = 100;

const chunk = <T>(items: T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, index) =>
    items.slice(index * size, index * size + size),
  );

function toLambdaAttributes(message: Message): SQSMessageAttributes {
  const attributes: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    attributes[name] = {
      stringValue: value.StringValue,
      binaryValue: value.BinaryValue ? Buffer.from(value.BinaryValue).toString('base64') : undefined,
      stringListValues: [],
      binaryListValues: [],
      dataType: value.DataType ?? 'String',
    };
  }
  return attributes;
}

function toRecord(message: Message, options: SqsEventSourceOptions): SQSRecord {
  const system = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: system.ApproximateReceiveCount ?? '1',
      SentTimestamp: system.SentTimestamp ?? String(Date.now()),
      SenderId: system.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: system.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: toLambdaAttributes(message),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: options.queueArn,
    awsRegion: options.region,
  };
}

/**
 * Lambda's SQS event source mapping, emulated: gathers up to `batchSize` messages within the batching
 * window, invokes the function once per batch, deletes the messages it processed and leaves the ones
 * it reported in `batchItemFailures` (or the whole batch, when the invocation failed) to the visibility
 * timeout, so the queue's redrive policy moves poison messages to the dead-letter queue.
 */
export class SqsEventSource {
  private running = false;
  private stopRequested = false;
  private loops: Promise<void>[] = [];
  private inFlight = 0;
  /** Receipt handles of messages left for redelivery, so a shutdown can make them visible again. */
  private readonly awaitingRetry = new Map<string, string>();

  constructor(private readonly options: SqsEventSourceOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopRequested = false;
    this.loops = Array.from({ length: this.options.concurrency }, () => this.loop());
  }

  /** Stops receiving; resolves when the batches in flight have finished. */
  async stop(): Promise<void> {
    this.running = false;
    this.stopRequested = true;
    await Promise.all(this.loops);
    this.loops = [];
  }

  get busy(): boolean {
    return this.inFlight > 0;
  }

  /** Makes the messages this source left for retry visible again (used before a shutdown snapshot). */
  async releaseRetries(): Promise<void> {
    const receiptHandles = [...this.awaitingRetry.values()];
    this.awaitingRetry.clear();
    for (const group of chunk(receiptHandles, 10)) {
      await this.options.sqs
        .send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: this.options.queueUrl,
            Entries: group.map((receiptHandle, index) => ({
              Id: `m${index}`,
              ReceiptHandle: receiptHandle,
              VisibilityTimeout: 0,
            })),
          }),
        )
        // A handle that expired meanwhile is visible already.
        .catch(() => undefined);
    }
  }

  private async loop(): Promise<void> {
    while (this.running) {
      try {
        const messages = await this.gather();
        if (messages.length === 0) {
          await new Promise((resolve) => setTimeout(resolve, IDLE_POLL_MS));
          continue;
        }
        this.inFlight += 1;
        try {
          await this.deliver(messages);
        } finally {
          this.inFlight -= 1;
        }
      } catch (error) {
        if (!this.running) return;
        this.options.log(`[sqs→${this.options.functionKey}] poll failed: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
  }

  private async receive(max: number, waitSeconds: number): Promise<Message[]> {
    const response = await this.options.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.options.queueUrl,
        MaxNumberOfMessages: Math.min(10, max),
        WaitTimeSeconds: waitSeconds,
        // The emulator honours the older AttributeNames (not MessageSystemAttributeNames).
        AttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    return response.Messages ?? [];
  }

  /** One batch: the first message(s), then more until the batch is full or the window closes. */
  async gather(): Promise<Message[]> {
    const { batchSize, maximumBatchingWindowSeconds } = this.options;
    // Short polls: the emulator's long poll holds received messages until its wait ends, which could
    // outlast a short visibility timeout and deliver a message twice.
    const first = await this.receive(batchSize, 0);
    if (first.length === 0) return [];
    const batch = [...first];
    const windowEnds = Date.now() + maximumBatchingWindowSeconds * 1000;
    while (batch.length < batchSize && Date.now() < windowEnds && !this.stopRequested) {
      const more = await this.receive(batchSize - batch.length, 0);
      if (more.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
      batch.push(...more);
    }
    return batch;
  }

  async deliver(messages: Message[]): Promise<BatchOutcome> {
    const { functionKey, reportBatchItemFailures } = this.options;
    const event: SQSEvent = { Records: messages.map((message) => toRecord(message, this.options)) };
    const result = await this.options.invoke(functionKey, event);
    const retry = new Set<string>();
    if (!result.ok) {
      for (const message of messages) retry.add(message.MessageId ?? '');
    } else if (reportBatchItemFailures) {
      const failures = (result.payload as { batchItemFailures?: Array<{ itemIdentifier?: unknown }> } | null)
        ?.batchItemFailures;
      const ids = new Set(messages.map((message) => message.MessageId));
      for (const failure of failures ?? []) {
        const id = failure?.itemIdentifier;
        // Like Lambda: an identifier that names no message of the batch fails the whole batch.
        if (typeof id !== 'string' || !ids.has(id)) {
          for (const message of messages) retry.add(message.MessageId ?? '');
          break;
        }
        retry.add(id);
      }
    }
    const done = messages.filter((message) => !retry.has(message.MessageId ?? ''));
    for (const message of messages) {
      if (retry.has(message.MessageId ?? ''))
        this.awaitingRetry.set(message.MessageId ?? '', message.ReceiptHandle ?? '');
      else this.awaitingRetry.delete(message.MessageId ?? '');
    }
    for (const group of chunk(done, 10)) {
      await this.options.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.options.queueUrl,
          Entries: group.map((message, index) => ({ Id: `m${index}`, ReceiptHandle: message.ReceiptHandle })),
        }),
      );
    }
    const outcome: BatchOutcome = { received: messages.length, deleted: done.length, failed: retry.size };
    if (!result.ok) {
      outcome.invokeError = result.error;
      this.options.log(
        `[sqs→${functionKey}] invocation failed (${messages.length} message(s) will be retried): ${result.error}`,
      );
    } else if (retry.size > 0) {
      this.options.log(`[sqs→${functionKey}] ${retry.size} of ${messages.length} message(s) reported failed`);
    }
    return outcome;
  }
}
