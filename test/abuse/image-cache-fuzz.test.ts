import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import fc from 'fast-check';
import sample from '../../events/image-cache-put.json';
import { handler } from '../../src/handlers/image-cache';
import { dynamo } from '../../src/lib/aws/dynamo';
import { lambdaContext } from '../support/lambda-context';
import { expectSafeResponse } from '../support/responses';

// The image cache's settings through the real handler in-process: any body that is not exactly
// {capacityMb: integer 0–1024, policy: lru|random} is a 400 that writes nothing; nothing is a 5xx.
const RUNS = 1_500;

// Writes are answered by a stand-in: valid random settings must not reach the stack the other test
// files share (the property is about what gets written, not DynamoDB).
const realSend = dynamo.send.bind(dynamo) as (...args: unknown[]) => Promise<unknown>;
const writes = jest.spyOn(dynamo, 'send');
const isWrite = (call: unknown[]) =>
  (call[0] as { constructor: { name: string } }).constructor.name === 'PutCommand';

const event = (body: string): APIGatewayProxyEvent =>
  ({ ...sample, body }) as unknown as APIGatewayProxyEvent;

const isValid = (value: unknown): boolean => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const entries = Object.keys(value);
  const { capacityMb, policy } = value as Record<string, unknown>;
  return (
    entries.length === 2 &&
    entries.includes('capacityMb') &&
    entries.includes('policy') &&
    Number.isInteger(capacityMb) &&
    (capacityMb as number) >= 0 &&
    (capacityMb as number) <= 1024 &&
    (policy === 'lru' || policy === 'random')
  );
};

const nearlyValid = fc.oneof(
  fc.record({
    capacityMb: fc.oneof(fc.double(), fc.integer(), fc.string(), fc.constant(null)),
    policy: fc.constantFrom('lru', 'random'),
  }),
  fc.record({
    capacityMb: fc.integer({ min: 0, max: 1024 }),
    policy: fc.oneof(fc.string(), fc.constantFrom('LRU', 'fifo', ' lru')),
  }),
  fc.record({
    capacityMb: fc.integer({ min: 0, max: 1024 }),
    policy: fc.constant('lru'),
    extra: fc.jsonValue(),
  }),
);

describe('fuzzing the image cache settings (fast-check, in-process)', () => {
  beforeAll(() => {
    writes.mockImplementation(((...args: unknown[]) =>
      isWrite(args) ? Promise.resolve({}) : realSend(...args)) as never);
  });
  afterAll(() => writes.mockRestore());

  it(`answers ${RUNS} arbitrary bodies with 400 and no write unless exactly valid, never a 5xx`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue({ maxDepth: 2 }), nearlyValid), async (body) => {
        writes.mockClear();
        const response = (await handler(
          event(JSON.stringify(body)),
          lambdaContext(),
        )) as APIGatewayProxyResult;
        expectSafeResponse(response.statusCode, response.headers ?? {}, response.body);
        if (isValid(body)) {
          expect(response.statusCode).toBe(200);
        } else {
          expect(response.statusCode).toBe(400);
          expect(writes.mock.calls.filter(isWrite)).toEqual([]);
        }
      }),
      { numRuns: RUNS },
    );
  }, 240_000);

  it('answers a body that is not JSON with 400', async () => {
    const response = (await handler(event('{"capacityMb":'), lambdaContext())) as APIGatewayProxyResult;
    expect(response.statusCode).toBe(400);
  });
});
