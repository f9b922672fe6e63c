import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import event from '../../events/health.json';

const context = { functionName: 'health', awsRequestId: 'test' } as Context;

async function invokeHealth(env: Record<string, string>): Promise<APIGatewayProxyResult> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    let handler:
      | ((event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>)
      | undefined;
    jest.isolateModules(() => {
      handler = require('../../src/handlers/health').handler;
    });
    if (!handler) throw new Error('handler did not load');
    return await handler(event as unknown as APIGatewayProxyEvent, context);
  } finally {
    process.env = saved;
  }
}

describe('health handler against the emulators', () => {
  it('is 200 when DynamoDB, SQS and S3 answer', async () => {
    const response = await invokeHealth({});
    expect(response.statusCode).toBe(200);
  });

  it('is 503 naming the dependency that is down', async () => {
    const response = await invokeHealth({ AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9' });
    expect(response.statusCode).toBe(503);
    const body = JSON.parse(response.body);
    expect(body.dependencies.s3.status).toBe('down');
    expect(body.dependencies.dynamodb.status).toBe('ok');
    expect(body.error).toEqual({ code: 'ServiceUnavailable', message: 'Unavailable: s3' });
  });

  it('is 503 when the table is missing', async () => {
    const response = await invokeHealth({ READINGS_TABLE: 'no-such-table' });
    expect(response.statusCode).toBe(503);
    expect(JSON.parse(response.body).error.message).toBe('Unavailable: dynamodb');
  });
});
