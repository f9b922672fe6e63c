import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import sample from '../../events/ingest-readings.json';
import { failedFor, injectFaults, throttled } from '../support/faults';
import { lambdaContext } from '../support/lambda-context';
import { createQueuePair, eventually, sqs } from '../support/sqs';
import { incompressibleText } from '../support/text';

// Issue 11, item 5: 202 means the whole request is queued; any other answer means none of it is.
// The handler runs in-process on a queue of its own (so the test can count exactly what was queued),
// against the real emulators, with faults injected at each step: the idempotency record (DynamoDB),
// the spill of a > 1 MiB request (S3) and the send (SQS).

type Handler = (event: APIGatewayProxyEvent, context: unknown) => Promise<APIGatewayProxyResult>;

async function ingestContainer() {
  const { queueUrl } = await createQueuePair({ visibilityTimeout: 30, maxReceiveCount: 5 });
  process.env.READINGS_QUEUE_URL = queueUrl;
  let loaded: {
    handler: Handler;
    dynamo: typeof import('../../src/lib/aws/dynamo').dynamo;
    s3: typeof import('../../src/lib/aws/s3').s3;
    sqs: typeof import('../../src/lib/aws/sqs').sqs;
    registerDevice: typeof import('../../src/lib/devices/devices').registerDevice;
  };
  await jest.isolateModulesAsync(async () => {
    loaded = {
      handler: (await import('../../src/handlers/ingest-readings')).handler as unknown as Handler,
      dynamo: (await import('../../src/lib/aws/dynamo')).dynamo,
      s3: (await import('../../src/lib/aws/s3')).s3,
      sqs: (await import('../../src/lib/aws/sqs')).sqs,
      registerDevice: (await import('../../src/lib/devices/devices')).registerDevice,
    };
  });
  process.env.READINGS_QUEUE_URL = process.env.SENSORCLOUD_READINGS_QUEUE_URL;
  // biome-ignore lint/style/noNonNullAssertion: assigned inside isolateModulesAsync
  const app = loaded!;
  const { device } = await app.registerDevice({});
  const queued = async () => {
    const { Attributes = {} } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );
    return Number(Attributes.ApproximateNumberOfMessages ?? 0);
  };
  const ingest = (body: unknown, headers: Record<string, string> = {}) =>
    app.handler(
      {
        ...sample,
        headers: { ...sample.headers, ...headers },
        requestContext: {
          ...sample.requestContext,
          authorizer: { role: 'device', deviceId: device.deviceId },
        },
        body: JSON.stringify(body),
      } as unknown as APIGatewayProxyEvent,
      lambdaContext(),
    );
  return { ...app, queued, ingest };
}

/** 400 readings of 2.4 KB that do not compress (~1 MB): over 1 MiB once sealed, so the request is spilled. */
const large = Array.from({ length: 400 }, (_, index) => ({
  data: { relative_time: index, freeform: incompressibleText(2_440) },
}));
const small = [{ data: { relative_time: 1, freeform: 'x' } }];

describe('ingest: whole or nothing, under faults', () => {
  it('queues a large request as one message: a failure of any later send cannot leave part of it queued', async () => {
    const app = await ingestContainer();
    let calls = 0;
    const faults = injectFaults(app.sqs, [
      {
        command: 'SendMessageBatchCommand',
        when: () => ++calls > 1,
        times: Number.POSITIVE_INFINITY,
        error: failedFor('AWS.SimpleQueueService.NonExistentQueue'),
      },
    ]);
    try {
      const response = await app.ingest(large);
      expect(response.statusCode).toBe(202);
      expect(calls).toBe(1);
    } finally {
      faults.remove();
    }
    await eventually(async () => expect(await app.queued()).toBe(1));
  });

  it.each([
    ['SQS refuses the send', 'sqs', 'SendMessageBatchCommand', undefined, small],
    ['S3 refuses the spilled copy', 's3', 'PutObjectCommand', undefined, large],
    ['DynamoDB throttles the idempotency record', 'dynamo', 'PutItemCommand', 'IDEMPOTENCY_TABLE', small],
    [
      'DynamoDB throttles the new data key record (key provider)',
      'dynamo',
      'PutItemCommand',
      'KEYS_TABLE',
      small,
    ],
  ] as const)(
    'answers 503 + Retry-After and queues nothing when %s',
    async (_, client, command, table, body) => {
      const app = await ingestContainer();
      const faults = injectFaults(app[client], [
        {
          command,
          times: Number.POSITIVE_INFINITY,
          when: (input) => table === undefined || input.TableName === process.env[table],
          error:
            command === 'SendMessageBatchCommand' ? failedFor('KmsThrottled', 500) : throttled('SlowDown'),
        },
      ]);
      try {
        const response = await app.ingest(body, { 'Idempotency-Key': `k-${Math.random()}` });
        expect(response.statusCode).toBe(503);
        expect(response.headers?.['retry-after']).toBe('1');
        expect(JSON.parse(response.body).error.code).toBe('ServiceUnavailable');
      } finally {
        faults.remove();
      }
      expect(await app.queued()).toBe(0);
    },
  );
});
