import { type MessageAttributeValue, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { groupWithin, mapConcurrent } from './concurrency';
import { defaultRetryPolicy, type RetryPolicy, retryRemaining } from './retry';
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
  return groupWithin(messages, MAX_SQS_BATCH_ENTRIES, MAX_SQS_BATCH_BYTES, sqsMessageBytes);
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
    const lastCode = new Map<string, string>();
    const left = await retryRemaining(
      batch,
      async (pending, abortSignal) => {
        const output = await sqs
          .send(
            new SendMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: pending.map((message) => ({
                Id: message.id,
                MessageBody: message.body,
                ...(message.attributes ? { MessageAttributes: message.attributes } : {}),
              })),
            }),
            { abortSignal },
          )
          .catch((error: Error) => {
            // Remembered for the report, should this be the last attempt.
            for (const message of pending) lastCode.set(message.id, error.name);
            throw error;
          });
        const retry = new Set<string>();
        for (const entry of output.Failed ?? []) {
          const failure = {
            id: entry.Id ?? '',
            code: entry.Code ?? 'Unknown',
            senderFault: entry.SenderFault === true,
          };
          // The message itself is at fault: sending it again cannot help.
          if (failure.senderFault) permanent.push(failure);
          else retry.add(failure.id);
          lastCode.set(failure.id, failure.code);
        }
        return pending.filter((message) => retry.has(message.id));
      },
      policy,
    );
    return [
      ...permanent,
      ...left.map((message) => ({
        id: message.id,
        code: lastCode.get(message.id) ?? 'Throttled',
        senderFault: false,
      })),
    ];
  });
  return [...failures, ...results.flat()];
}
