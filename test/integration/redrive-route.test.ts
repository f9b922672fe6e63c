import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { lambdaContext } from '../support/lambda-context';
import { createQueuePair, eventually, sqs } from '../support/sqs';

// POST /api/dead-letters/redrive (the console's button), in-process on a queue pair of its own so the
// count of what moved is exact; who may call it is in the authorization matrix.

type Handler = (event: APIGatewayProxyEvent, context: unknown) => Promise<APIGatewayProxyResult>;

const visible = async (queueUrl: string) => {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(Attributes.ApproximateNumberOfMessages ?? 0);
};

describe('POST /api/dead-letters/redrive', () => {
  it('moves at most maxMessages dead letters back for an administrator, and refuses bad bodies and devices', async () => {
    const { queueUrl, dlqUrl } = await createQueuePair({ visibilityTimeout: 30, maxReceiveCount: 5 });
    for (let index = 0; index < 3; index += 1)
      await sqs.send(new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: `{"dead":${index}}` }));
    const previous = { queue: process.env.READINGS_QUEUE_URL, dlq: process.env.READINGS_DLQ_URL };
    process.env.READINGS_QUEUE_URL = queueUrl;
    process.env.READINGS_DLQ_URL = dlqUrl;
    let handler: Handler | undefined;
    await jest.isolateModulesAsync(async () => {
      handler = (await import('../../src/handlers/redrive-dead-letters')).handler as unknown as Handler;
    });
    process.env.READINGS_QUEUE_URL = previous.queue;
    process.env.READINGS_DLQ_URL = previous.dlq;
    const call = (authorizer: Record<string, string>, body?: unknown) =>
      (handler as Handler)(
        {
          httpMethod: 'POST',
          path: '/api/dead-letters/redrive',
          resource: '/api/dead-letters/redrive',
          headers: { 'content-type': 'application/json' },
          body: body === undefined ? null : JSON.stringify(body),
          requestContext: { requestId: 'r', authorizer },
        } as unknown as APIGatewayProxyEvent,
        lambdaContext(),
      );
    const admin = { role: 'admin' };

    expect((await call({ role: 'device', deviceId: 'd' })).statusCode).toBe(403);
    expect((await call(admin, { maxMessages: 0 })).statusCode).toBe(400);
    expect((await call(admin, { maxMessages: 101 })).statusCode).toBe(400);
    expect((await call(admin, { everything: true })).statusCode).toBe(400);
    await eventually(async () => expect(await visible(dlqUrl)).toBe(3));

    const first = await call(admin, { maxMessages: 2 });
    expect(first.statusCode).toBe(200);
    expect(JSON.parse(first.body)).toMatchObject({ moved: 2, failed: 0 });
    const rest = await call(admin);
    expect(JSON.parse(rest.body)).toMatchObject({ moved: 1, failed: 0, remaining: 0 });
    await eventually(async () => expect(await visible(queueUrl)).toBe(3));
  });
});
