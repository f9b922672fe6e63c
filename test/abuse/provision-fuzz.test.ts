import { randomInt } from 'node:crypto';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import fc from 'fast-check';
import sample from '../../events/provision-device.json';
import { handler } from '../../src/handlers/provision-device';
import { dynamo } from '../../src/lib/aws/dynamo';
import { lambdaContext } from '../support/lambda-context';
import { expectSafeResponse } from '../support/responses';

// POST /api/provision through the real handler in-process, against the stack's DynamoDB: hostile
// bodies, Authorization and Idempotency-Key headers are 400, 401 or 429 (never a 5xx), and none of
// them creates a device (no transaction ever commits).
const RUNS = 300;

// Counts the transactions DynamoDB applied (an exchange's device, count and audit entry).
const realSend = dynamo.send.bind(dynamo) as (...args: unknown[]) => Promise<unknown>;
let commits = 0;
jest.spyOn(dynamo, 'send').mockImplementation((async (...args: unknown[]) => {
  const result = await realSend(...args);
  if ((args[0] as { constructor: { name: string } }).constructor.name === 'TransactWriteCommand')
    commits += 1;
  return result;
}) as never);

const event = (body: string | null, headers: Record<string, string>): APIGatewayProxyEvent =>
  ({
    ...sample,
    headers: { 'Content-Type': 'application/json', ...headers },
    body,
    requestContext: {
      ...sample.requestContext,
      identity: { ...sample.requestContext.identity, sourceIp: `10.${randomInt(256)}.${randomInt(256)}.1` },
    },
  }) as unknown as APIGatewayProxyEvent;

const invoke = async (request: APIGatewayProxyEvent) =>
  (await handler(request, lambdaContext())) as APIGatewayProxyResult;

const keyLike = fc.oneof(
  fc.string(),
  fc.string().map((secret) => `pk_AAAAAAAAAAAAAAAA.${secret}`),
  fc.stringMatching(/^pk_[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{0,60}$/),
  fc.constantFrom('source#127.0.0.1', 'failures#pk_AAAAAAAAAAAAAAAA', 'pk_AAAAAAAAAAAAAAAA', '.'),
);

describe('POST /api/provision under hostile input', () => {
  it('answers any body with 400, or 401/429 for a valid one, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue(), fc.string()), async (body) => {
        const text = typeof body === 'string' ? body : JSON.stringify(body);
        const response = await invoke(event(text, { Authorization: 'Bearer pk_AAAAAAAAAAAAAAAA.x' }));
        expectSafeResponse(response.statusCode, response.headers ?? {}, response.body);
        expect([400, 401, 429]).toContain(response.statusCode);
      }),
      { numRuns: RUNS },
    );
    expect(commits).toBe(0);
  });

  it('answers any Authorization and Idempotency-Key header with 400, 401 or 429, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          keyLike,
          keyLike.map((key) => `Bearer ${key}`),
          keyLike.map((key) => `Basic ${key}`),
        ),
        fc.option(fc.string({ maxLength: 200 })),
        async (authorization, idempotencyKey) => {
          const headers: Record<string, string> = { Authorization: authorization };
          if (idempotencyKey !== null) headers['Idempotency-Key'] = idempotencyKey;
          const response = await invoke(event('{}', headers));
          expect([400, 401, 429]).toContain(response.statusCode);
        },
      ),
      { numRuns: RUNS },
    );
    expect(commits).toBe(0);
  });
});
