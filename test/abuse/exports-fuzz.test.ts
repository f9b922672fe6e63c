import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import fc from 'fast-check';
import exportSample from '../../events/manage-exports.json';
import { handler } from '../../src/handlers/manage-exports';
import { dynamo, dynamoClient } from '../../src/lib/aws/dynamo';
import { sqs } from '../../src/lib/aws/sqs';
import { lambdaContext } from '../support/lambda-context';
import { expectSafeResponse } from '../support/responses';

// Hostile POST /api/exports bodies through the real handler in-process: each malformed one is a 400
// that reads nothing, takes no slot and queues nothing; arbitrary JSON is never a 5xx.
const MALFORMED_RUNS = 1_500;
const ANY_JSON_RUNS = 500;

const sends = jest.spyOn(sqs, 'send');
const reads = jest.spyOn(dynamo, 'send');
const rawReads = jest.spyOn(dynamoClient, 'send');

const event = (body: string, role: 'device' | 'admin' = 'device'): APIGatewayProxyEvent =>
  ({
    ...exportSample,
    requestContext: {
      ...exportSample.requestContext,
      authorizer: role === 'admin' ? { role } : { role, deviceId: 'dev_fuzz_unregistered' },
    },
    body,
  }) as unknown as APIGatewayProxyEvent;

const invoke = async (e: APIGatewayProxyEvent) =>
  (await handler(e, lambdaContext())) as APIGatewayProxyResult;

const notAnInteger = fc.oneof(
  fc.boolean(),
  fc.constant(null),
  fc.string(),
  fc.double({ noInteger: true }),
  fc.double({ min: 2 ** 53, max: Number.MAX_VALUE, noNaN: true }),
  fc.array(fc.integer(), { maxLength: 2 }),
);
const valid = fc.record(
  {
    format: fc.constantFrom('csv', 'parquet'),
    start: fc.integer({ min: -1000, max: 0 }),
    end: fc.integer({ min: 0, max: 1000 }),
  },
  { requiredKeys: ['format'] },
);
const malformed = fc.oneof(
  valid.map((body) => ({ ...body, format: 'xlsx' })),
  fc
    .tuple(
      valid,
      fc.string().filter((s) => s !== 'csv' && s !== 'parquet'),
    )
    .map(([body, format]) => ({ ...body, format })),
  fc.tuple(valid, notAnInteger).map(([body, start]) => ({ ...body, start })),
  fc.tuple(valid, notAnInteger).map(([body, end]) => ({ ...body, start: 0, end })),
  fc
    .tuple(valid, fc.oneof(fc.integer(), fc.string({ minLength: 1025, maxLength: 1030 })))
    .map(([body, db_password]) => ({
      ...body,
      db_password,
    })),
  fc
    .tuple(
      valid,
      fc
        .string({ minLength: 1 })
        .filter(
          (key) =>
            !['format', 'start', 'end', 'db_password', 'deviceId', 'allDevices', '__proto__'].includes(key),
        ),
    )
    .map(([body, key]) => ({ ...body, [key]: 1 })),
  valid.map((body) => ({ ...body, start: 10, end: 5 })),
  valid.map(({ format }) => ({ format, end: 5 })),
  valid.map((body) => ({ ...body, allDevices: true })),
  fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.array(fc.anything(), { maxLength: 2 })),
);

describe('fuzzing POST /api/exports (fast-check, in-process)', () => {
  beforeEach(() => {
    sends.mockReset();
    sends.mockImplementation(async () => ({}));
    reads.mockClear();
    rawReads.mockClear();
  });
  afterAll(() => {
    sends.mockRestore();
    reads.mockRestore();
    rawReads.mockRestore();
  });

  it(`answers ${MALFORMED_RUNS} malformed export requests with 400, reading and queueing nothing`, async () => {
    await fc.assert(
      fc.asyncProperty(malformed, async (body) => {
        reads.mockClear();
        rawReads.mockClear();
        const response = await invoke(event(JSON.stringify(body)));
        expect({ body, status: response.statusCode }).toEqual({ body, status: 400 });
        expectSafeResponse(response.statusCode, response.headers ?? {}, response.body);
        expect(reads).not.toHaveBeenCalled();
        expect(rawReads).not.toHaveBeenCalled();
        expect(sends).not.toHaveBeenCalled();
      }),
      { numRuns: MALFORMED_RUNS },
    );
  }, 240_000);

  it(`never answers arbitrary JSON (${ANY_JSON_RUNS} bodies, device or admin) with a 5xx`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.jsonValue(),
        fc.constantFrom('device', 'admin') as fc.Arbitrary<'device' | 'admin'>,
        async (value, role) => {
          const response = await invoke(event(JSON.stringify(value), role));
          expectSafeResponse(response.statusCode, response.headers ?? {}, response.body);
          expect(response.statusCode).toBeLessThan(500);
        },
      ),
      { numRuns: ANY_JSON_RUNS },
    );
  }, 240_000);
});
