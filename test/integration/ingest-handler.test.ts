import { gzipSync } from 'node:zlib';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import sample from '../../events/ingest-readings.json';
import { handler } from '../../src/handlers/ingest-readings';
import { config } from '../../src/lib/config';
import { registerDevice } from '../../src/lib/devices/devices';
import { lambdaContext } from '../support/lambda-context';

// SQS is mocked here (the unit under test is the handler's contract with the queue); the data key
// still comes from the local key provider and DynamoDB Local.
const sqsMock = mockClient(SQSClient);
let deviceId = 'unregistered';
const event = (body: unknown) =>
  ({
    ...sample,
    requestContext: { ...sample.requestContext, authorizer: { role: 'device', deviceId } },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  }) as unknown as APIGatewayProxyEvent;

describe('ingest-readings handler with SQS mocked', () => {
  beforeAll(async () => {
    // A real device (DynamoDB Local): the sample's password needs its salt.
    deviceId = (await registerDevice({})).device.deviceId;
  });
  beforeEach(() => sqsMock.reset());
  afterAll(() => sqsMock.restore());

  it('enqueues nothing when any item is invalid (all or nothing)', async () => {
    const response = await handler(event([{ data: {} }, { data: { relative_time: 'x' } }]), lambdaContext());
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body).error.message).toMatch(/^\[1\]\.data\.relative_time/);
    expect(sqsMock.calls()).toHaveLength(0);
  });

  it('answers 202 with the reading ids once SQS has every message', async () => {
    sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    const response = await handler(event(sample.body), lambdaContext());
    expect(response.statusCode).toBe(202);
    const body = JSON.parse(response.body);
    expect(body.success).toBe('2 object(s) accepted');
    expect(body.ids).toHaveLength(2);
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(1);
  });

  it('retries entries SQS reports as failed', async () => {
    sqsMock
      .on(SendMessageBatchCommand)
      .resolvesOnce({ Failed: [{ Id: '0', Code: 'InternalError', SenderFault: false }] })
      .resolves({ Failed: [] });
    const response = await handler(event({ data: { relative_time: 1 } }), lambdaContext());
    expect(response.statusCode).toBe(202);
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(2);
  });

  it('answers 503 (never 202) when SQS keeps refusing, and 500 without internals when it throws', async () => {
    sqsMock
      .on(SendMessageBatchCommand)
      .resolves({ Failed: [{ Id: '0', Code: 'InternalError', SenderFault: false }] });
    const refused = await handler(event({ data: { relative_time: 1 } }), lambdaContext());
    expect(refused.statusCode).toBe(503);
    expect(JSON.parse(refused.body).error.code).toBe('ServiceUnavailable');

    sqsMock.on(SendMessageBatchCommand).rejects(new Error('connect ECONNREFUSED sqs.internal:443'));
    const crashed = await handler(event({ data: { relative_time: 1 } }), lambdaContext());
    expect(crashed.statusCode).toBe(500);
    expect(crashed.body).toBe('{"error":{"code":"InternalError","message":"Internal server error"}}');
  });

  describe('with Content-Encoding', () => {
    // As API Gateway delivers it: decoded, the header still set; or (a direct invoke) still encoded.
    const encoded = (body: Buffer | string, encoding: string, base64 = Buffer.isBuffer(body)) =>
      ({
        ...event(''),
        headers: { ...sample.headers, 'Content-Encoding': encoding },
        body: Buffer.isBuffer(body) ? body.toString(base64 ? 'base64' : 'utf8') : body,
        isBase64Encoded: base64,
      }) as unknown as APIGatewayProxyEvent;
    const reply = (response: { statusCode: number; body: string }) => ({
      status: response.statusCode,
      error: JSON.parse(response.body).error,
    });

    it('takes a body API Gateway already decoded, and one still in gzip', async () => {
      sqsMock.on(SendMessageBatchCommand).resolves({ Failed: [] });
      const plain = JSON.stringify([{ data: { relative_time: 1 } }]);
      expect((await handler(encoded(plain, 'gzip'), lambdaContext())).statusCode).toBe(202);
      expect((await handler(encoded(gzipSync(plain), 'gzip'), lambdaContext())).statusCode).toBe(202);
      expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(2);
    });

    it('answers 413 when the decoded body is over the limit, whichever side decoded it', async () => {
      const limit = config.MAX_BODY_BYTES;
      const big = JSON.stringify({ data: { relative_time: 1, pad: ' '.repeat(limit) } });
      const message = `Request body is over ${limit} bytes once decoded; the limit is ${limit}`;
      for (const body of [big, gzipSync(big), gzipSync(Buffer.alloc(1024 * 1024 * 1024))]) {
        expect(reply(await handler(encoded(body, 'gzip'), lambdaContext()))).toEqual({
          status: 413,
          error: { code: 'PayloadTooLarge', message },
        });
      }
      // Without an encoding the original contract stands: 400.
      expect(reply(await handler(event(big), lambdaContext())).status).toBe(400);
      expect(sqsMock.calls()).toHaveLength(0);
    });

    it('answers 415 for a corrupt gzip body or a coding it does not decode', async () => {
      const gzipped = gzipSync(JSON.stringify({ data: {} }));
      expect(reply(await handler(encoded(gzipped.subarray(0, 15), 'gzip'), lambdaContext()))).toEqual({
        status: 415,
        error: { code: 'UnsupportedMediaType', message: 'Request body is not valid gzip data' },
      });
      for (const coding of ['br', 'gzip, gzip', 'zstd'])
        expect(reply(await handler(encoded(gzipped, coding), lambdaContext())).status).toBe(415);
      expect(sqsMock.calls()).toHaveLength(0);
    });
  });
});
