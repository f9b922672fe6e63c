import { type MessageAttributeValue, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { mapConcurrent } from './concurrency';
import {
  backoffDelay,
  deadlineSignal,
  defaultRetryPolicy,
  hasTimeFor,
  isTransient,
  type RetryPolicy,
  sleep,
} from './retry';
import { sqs } from './sqs';

// SendMessageBatch within its limits: at most 10 entries and 1 MiB (1,048,576 bytes) in all, where a
// message's size is its body plus each attribute's name, type and value. Entries that fail for a
// reason on SQS's side (SenderFault false) and throttled calls are retried with backoff.

export const MAX_SQS_MESSAGE_BYTES = 1024 * 1024;
export const MAX_SQS_BATCH_ENTRIES = 10;
export const MAX_SQS_BATCH_BYTES = 1024 * 1024;

export interface OutgoingMessage {
  /** Unique within one call of sendMessages. */
  id: string;
  body: string;
  attributes?: Record<string, MessageAttributeValue>;
}

export interface FailedMessage {
  id: string;
  code: string;
  /** The message itself is at fault (too large, invalid): retrying cannot help. */
  senderFault: boolean;
}

/** What SQS counts toward the 1 MiB limits. */
export function sqsMessageBytes(message: Pick<OutgoingMessage, 'body' | 'attributes'>): number {
  let bytes = Buffer.byteLength(message.body);
  for (const [name, value] of Object.entries(message.attributes ?? {})) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? '');
    if (value.StringValue !== undefined) bytes += Buffer.byteLength(value.StringValue);
    if (value.BinaryValue !== undefined) bytes += value.BinaryValue.byteLength;
  }
  return bytes;
}

/** Groups messages into calls of ≤ 10 entries and ≤ 1 MiB, in order. */
export function planBatches(messages: readonly OutgoingMessage[]): OutgoingMessage[][] {
  const batches: OutgoingMessage[][] = [];
  let batch: OutgoingMessage[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = sqsMessageBytes(message);
    if (batch.length === MAX_SQS_BATCH_ENTRIES || (batch.length > 0 && bytes + size > MAX_SQS_BATCH_BYTES)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(message);
    bytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/**
 * Sends every message; returns those that could not be sent (too large, or still failing after
 * retries). An empty result means every message is in the queue. A call failing for a reason that is
 * not transient (access denied, no such queue) is thrown.
 */
export async function sendMessages(
  queueUrl: string,
  messages: readonly OutgoingMessage[],
  options: { deadline?: number; retry?: Partial<RetryPolicy>; concurrency?: number } = {},
): Promise<FailedMessage[]> {
  const failures: FailedMessage[] = [];
  const sendable: OutgoingMessage[] = [];
  for (const message of messages) {
    if (sqsMessageBytes(message) > MAX_SQS_MESSAGE_BYTES)
      failures.push({ id: message.id, code: 'MessageTooLarge', senderFault: true });
    else sendable.push(message);
  }
  const policy = { ...defaultRetryPolicy, ...options.retry, deadline: options.deadline };
  const results = await mapConcurrent(planBatches(sendable), options.concurrency ?? 4, async (batch) => {
    const permanent: FailedMessage[] = [];
    let pending = batch;
    for (let attempt = 0; ; attempt += 1) {
      let failed: FailedMessage[];
      try {
        const output = await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: pending.map((message) => ({
              Id: message.id,
              MessageBody: message.body,
              ...(message.attributes ? { MessageAttributes: message.attributes } : {}),
            })),
          }),
          { abortSignal: deadlineSignal(policy.deadline) },
        );
        failed = (output.Failed ?? []).map((entry) => ({
          id: entry.Id ?? '',
          code: entry.Code ?? 'Unknown',
          senderFault: entry.SenderFault === true,
        }));
      } catch (error) {
        // Denied access, a missing queue, a bug: not a reason to retry, and not the sender's data.
        if (!isTransient(error)) throw error;
        failed = pending.map((message) => ({
          id: message.id,
          code: (error as Error).name,
          senderFault: false,
        }));
      }
      permanent.push(...failed.filter((failure) => failure.senderFault));
      const retryable = failed.filter((failure) => !failure.senderFault);
      const retryIds = new Set(retryable.map((failure) => failure.id));
      pending = pending.filter((message) => retryIds.has(message.id));
      if (pending.length === 0) return permanent;
      const delay = backoffDelay(attempt, policy);
      if (attempt + 1 >= policy.attempts || !hasTimeFor(delay, policy.deadline))
        return [...permanent, ...retryable];
      await sleep(delay);
    }
  });
  return [...failures, ...results.flat()];
}
