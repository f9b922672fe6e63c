import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import { sqs } from '../aws/sqs';
import { sendMessages } from '../aws/sqs-batch';
import { logger } from '../logger';
import { count, gauge, MetricName } from '../observability';
import { queueDepth } from '../stats/queues';

// Dead-letter redrive: moves messages from a dead-letter queue back to its source queue, at most
// `max` per run. A message is sent to the source queue before it is deleted from the dead-letter
// queue, so a failure in between can duplicate it (the consumer's writes are idempotent) but never
// lose it. Bodies and attributes (the correlation id) are moved unchanged and never logged.

export interface RedriveReport {
  moved: number;
  /** Received but not moved (sending failed); left in the dead-letter queue for the next run. */
  failed: number;
  /** Messages still in the dead-letter queue after the run. */
  remaining: number;
}

/** While a run holds them, other runs (and the console) do not see the messages it is moving. */
const HOLD_SECONDS = 60;

function attributesOf(message: Message): Record<string, MessageAttributeValue> | undefined {
  const attributes: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    attributes[name] = {
      DataType: value.DataType,
      ...(value.StringValue !== undefined ? { StringValue: value.StringValue } : {}),
      ...(value.BinaryValue !== undefined ? { BinaryValue: value.BinaryValue } : {}),
    };
  }
  return Object.keys(attributes).length > 0 ? attributes : undefined;
}

async function moveBatch(
  messages: Message[],
  from: string,
  to: string,
): Promise<{ moved: number; failed: number }> {
  // Sent in as many calls as SQS's limits need (10 entries and 1 MiB per call), retried on throttling.
  const failures = await sendMessages(
    to,
    messages.map((message, index) => {
      const attributes = attributesOf(message);
      return { id: String(index), body: message.Body ?? '', ...(attributes ? { attributes } : {}) };
    }),
  );
  const failed = new Set(failures.map((failure) => Number(failure.id)));
  const moved = messages.filter((_, index) => !failed.has(index));
  const kept = messages.filter((_, index) => failed.has(index));
  if (moved.length > 0) {
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: from,
        Entries: moved.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })),
      }),
    );
  }
  if (kept.length > 0) {
    logger.warn('dead letters not moved', {
      messageIds: kept.map((message) => message.MessageId),
      errorCodes: failures.map((failure) => failure.code),
    });
    // Visible again at once, for the next run.
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: from,
        Entries: kept.map((message, index) => ({
          Id: String(index),
          ReceiptHandle: message.ReceiptHandle,
          VisibilityTimeout: 0,
        })),
      }),
    );
  }
  return { moved: moved.length, failed: kept.length };
}

export async function redriveDeadLetters(options: {
  deadLetterQueueUrl: string;
  sourceQueueUrl: string;
  max: number;
}): Promise<RedriveReport> {
  const { deadLetterQueueUrl: from, sourceQueueUrl: to, max } = options;
  let moved = 0;
  let failed = 0;
  while (moved + failed < max) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: from,
        MaxNumberOfMessages: Math.min(10, max - moved - failed),
        WaitTimeSeconds: 0,
        VisibilityTimeout: HOLD_SECONDS,
        MessageAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) break;
    const outcome = await moveBatch(Messages, from, to);
    moved += outcome.moved;
    failed += outcome.failed;
    logger.info('dead letters moved', {
      messageIds: Messages.map((message) => message.MessageId),
      ...outcome,
    });
  }
  const depth = await queueDepth(from);
  const report = { moved, failed, remaining: depth.visible + depth.inFlight };
  count(MetricName.DlqMessagesRedriven, moved);
  gauge(MetricName.DlqDepth, report.remaining);
  logger.info('redrive finished', { ...report });
  return report;
}
