import { randomUUID } from 'node:crypto';
import { CreateQueueCommand, type Message, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';

import { queueCounts as emulatorQueueCounts } from '../../scripts/local/emulators';

export const sqs = new SQSClient({});

export async function createQueuePair(options: { visibilityTimeout: number; maxReceiveCount: number }) {
  const name = `test-${randomUUID().slice(0, 8)}`;
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
  const dlqArn = `arn:aws:sqs:us-east-1:000000000000:${name}-dlq`;
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        VisibilityTimeout: String(options.visibilityTimeout),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: dlqArn,
          maxReceiveCount: options.maxReceiveCount,
        }),
      },
    }),
  );
  return {
    queueUrl: queue.QueueUrl as string,
    queueArn: `arn:aws:sqs:us-east-1:000000000000:${name}`,
    dlqUrl: dlq.QueueUrl as string,
  };
}

export const queueCounts = (queueUrl: string) => emulatorQueueCounts(sqs, queueUrl);

/** Reads (without deleting) everything visible in a queue. */
export async function peekAll(queueUrl: string, client: SQSClient = sqs): Promise<Message[]> {
  const seen: Message[] = [];
  for (;;) {
    const { Messages = [] } = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        // Long enough to read the whole queue once, short enough not to hide messages from other tests
        // (a test polling a shared queue would otherwise keep its messages hidden from everyone).
        VisibilityTimeout: 2,
        AttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) return seen;
    seen.push(...Messages);
  }
}

export async function eventually<T>(
  check: () => Promise<T>,
  { timeoutMs = 60_000, intervalMs = 200 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      return await check();
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
  throw lastError;
}
