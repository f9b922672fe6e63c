import { gzipSync } from 'node:zlib';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import fc from 'fast-check';
import ingestSample from '../../events/ingest-readings.json';
import querySample from '../../events/query-readings.json';
import { handler as ingest } from '../../src/handlers/ingest-readings';
import { handler as manageAlertRules } from '../../src/handlers/manage-alert-rules';
import { handler as manageDevices } from '../../src/handlers/manage-devices';
import { handler as query } from '../../src/handlers/query-readings';
import { createRule, deleteRule } from '../../src/lib/alerts/rules';
import { dynamo, dynamoClient } from '../../src/lib/aws/dynamo';
import { sqs } from '../../src/lib/aws/sqs';
import { config } from '../../src/lib/config';
import { registerDevice } from '../../src/lib/devices/devices';
import { MAX_JSON_DEPTH } from '../../src/lib/http/json-body';
import { isWellFormedText } from '../../src/lib/validation';
import { lambdaContext } from '../support/lambda-context';
import { expectSafeResponse } from '../support/responses';

// Property-based fuzzing of the request bodies (and the query's path and query string), through the
// real handlers in-process: thousands of malformed requests per run, each answered 400 with nothing
// enqueued and nothing read; arbitrary JSON is never a 5xx.
const INGEST_MALFORMED_RUNS = 5_500;
const INGEST_ANY_JSON_RUNS = 1_500;
const QUERY_MALFORMED_RUNS = 3_000;

let deviceId = 'unregistered';
const sends = jest.spyOn(sqs, 'send');
const reads = jest.spyOn(dynamo, 'send');
const rawReads = jest.spyOn(dynamoClient, 'send');

function ingestEvent(body: string | undefined, headers: Record<string, string> = {}): APIGatewayProxyEvent {
  return {
    ...ingestSample,
    headers: { ...ingestSample.headers, ...headers },
    requestContext: { ...ingestSample.requestContext, authorizer: { role: 'device', deviceId } },
    body: body ?? null,
  } as unknown as APIGatewayProxyEvent;
}

async function invoke(
  fn: (event: APIGatewayProxyEvent, context: ReturnType<typeof lambdaContext>) => Promise<unknown>,
  event: APIGatewayProxyEvent,
) {
  return (await fn(event, lambdaContext())) as APIGatewayProxyResult;
}

// --- Malformed readings, invalid by construction ---------------------------------------------------

const INTEGER_STRING = /^\s*[+-]?\d+\s*$/;
const notAnInteger = fc.oneof(
  fc.boolean(),
  fc.constant(null),
  fc.string().filter((s) => !INTEGER_STRING.test(s)),
  // Beyond Number.MAX_SAFE_INTEGER, as a number or as digits.
  fc.double({ min: 2 ** 53, max: Number.MAX_VALUE, noNaN: true }),
  fc.double({ min: -Number.MAX_VALUE, max: -(2 ** 53), noNaN: true }),
  fc.bigInt({ min: 2n ** 53n, max: 10n ** 40n }).map((n) => n.toString()),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
);
const notATime = fc.oneof(
  notAnInteger.filter((value) => typeof value !== 'string' || !value.includes('/')),
  // Date-times that do not exist or are not in the original format.
  fc.constantFrom(
    '13/45/2014 10:59:19 AM',
    '2/30/2014 10:59:19 AM',
    '3/18/2014 13:59:19 PM',
    '3/18/2014 0:59:19 AM',
    '3/18/2014 10:61:19 AM',
    '3/18/2014 10:59:19',
    '2014-03-18T10:59:19Z',
    '3/18/2014 10:59:19.1234567 AM',
  ),
);
const notAPassword = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 2 }),
  fc.string({ minLength: 1025, maxLength: 1100 }),
);
const oversizeFreeform = fc.oneof(
  fc
    .integer({ min: config.MAX_FREEFORM_BYTES + 1, max: config.MAX_FREEFORM_BYTES + 500 })
    .map((n) => 'x'.repeat(n)),
  fc.integer({ min: 1, max: 4 }).map((depth) =>
    Array.from({ length: depth }).reduce<unknown>(
      (inner) => ({ nested: inner }),
      Array.from({ length: 600 }, (_, i) => ({ [`k${i}`]: 'v'.repeat(20) })),
    ),
  ),
);
const validData = fc.record(
  {
    relative_time: fc.integer({ min: -1_000_000, max: 1_000_000 }),
    interrogator_time: fc.integer({ min: 0, max: 2 ** 52 }),
    freeform: fc.jsonValue({ maxDepth: 2 }),
  },
  { requiredKeys: [] },
);
const invalidData = fc.oneof(
  fc.tuple(validData, notAnInteger).map(([data, relative_time]) => ({ ...data, relative_time })),
  fc.tuple(validData, notATime).map(([data, interrogator_time]) => ({ ...data, interrogator_time })),
  fc.tuple(validData, notAPassword).map(([data, db_password]) => ({ ...data, db_password })),
  fc.tuple(validData, oversizeFreeform).map(([data, freeform]) => ({ ...data, freeform })),
);
const invalidReading = fc.oneof(
  invalidData.map((data) => ({ data })),
  // `data` that is not an object, or missing.
  fc
    .oneof(
      fc.integer(),
      fc.string(),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.anything(), { maxLength: 3 }),
    )
    .map((data) => ({ data })),
  fc.dictionary(
    fc.string({ maxLength: 8 }).filter((key) => key !== 'data'),
    fc.jsonValue({ maxDepth: 2 }),
    { maxKeys: 4 },
  ),
);
const validReading = validData.map((data) => ({ data }));

// Over the body limit, built once (megabytes per generated case would dominate the run time).
const oversizeBodies = [1, 4096].map((extra) =>
  JSON.stringify({ data: { freeform: 'y'.repeat(config.MAX_BODY_BYTES + extra) } }),
);
const malformedIngestBody: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 4, arbitrary: invalidReading.map((reading) => JSON.stringify(reading)) },
  // A list with one bad item among good ones: all or nothing.
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        fc.array(validReading, { maxLength: 5 }),
        invalidReading,
        fc.array(validReading, { maxLength: 5 }),
      )
      .map(([before, bad, after]) => JSON.stringify([...before, bad, ...after])),
  },
  // JSON that is not a reading or a list of them.
  {
    weight: 1,
    arbitrary: fc
      .oneof(fc.integer(), fc.double(), fc.string(), fc.boolean(), fc.constant(null), fc.constant([]))
      .map((value) => JSON.stringify(value)),
  },
  // Not JSON at all.
  {
    weight: 1,
    arbitrary: fc
      .oneof(
        fc.string({ minLength: 1 }),
        fc.constantFrom('{', '[{"data":', '{"data":{}}}', "{'data':1}", 'NaN'),
      )
      .filter((text) => {
        try {
          JSON.parse(text);
          return false;
        } catch {
          return true;
        }
      }),
  },
  { weight: 1, arbitrary: fc.constantFrom(undefined, '') },
  // More readings than allowed, or more bytes than allowed.
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: config.MAX_READINGS_PER_REQUEST + 1, max: config.MAX_READINGS_PER_REQUEST + 50 })
      .map((count) => JSON.stringify(Array.from({ length: count }, () => ({ data: {} })))),
  },
  { weight: 1, arbitrary: fc.constantFrom(...oversizeBodies) },
);

const badIdempotencyKey = fc.oneof(
  fc.constant(''),
  fc.string({ minLength: 129, maxLength: 200 }).map((s) => s.replace(/\s/g, 'x')),
  fc.string({ minLength: 1, maxLength: 20 }).map((s) => `${s} ${s}`),
  fc.constantFrom('key\u00e9', 'tab\there', 'new\nline'),
);

// Arbitrary JSON, with valid readings mixed in so that the 202 side of the property is exercised too.
const anyJson = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  { weight: 1, arbitrary: validReading },
  { weight: 1, arbitrary: fc.array(validReading, { minLength: 1, maxLength: 5 }) },
);

// --- Query requests --------------------------------------------------------------------------------

function queryEvent(request: {
  body?: string;
  resource: string;
  path: Record<string, string>;
  query?: Record<string, string>;
}): APIGatewayProxyEvent {
  return {
    ...querySample,
    resource: request.resource,
    pathParameters: Object.keys(request.path).length ? request.path : null,
    queryStringParameters: request.query ?? null,
    requestContext: { ...querySample.requestContext, authorizer: { role: 'device', deviceId } },
    body: request.body ?? null,
  } as unknown as APIGatewayProxyEvent;
}

const notAPathInteger = fc.oneof(
  fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !/^-?\d{1,16}$/.test(s)),
  fc.bigInt({ min: 10n ** 16n, max: 10n ** 30n }).map(String),
  fc
    .double({ noNaN: true, noDefaultInfinity: true })
    .filter((n) => !Number.isInteger(n))
    .map(String),
);
const malformedQuery = fc.oneof(
  // Bodies: not JSON, not an object, a password of the wrong type or length.
  fc
    .oneof(
      fc.constantFrom(
        '{',
        'null',
        '[]',
        '5',
        '"text"',
        'true',
        '{"data":[]}',
        '{"data":"x"}',
        '{"data":null}',
      ),
      notAPassword.map((db_password) => JSON.stringify({ data: { db_password } })),
    )
    .map((body) => ({ body, resource: '/api/iot', path: {} as Record<string, string> })),
  // Path parameters.
  notAPathInteger.map((start) => ({ resource: '/api/iot/{start}', path: { start } })),
  fc
    .tuple(fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 1, max: 1_000_000 }))
    .map(([start, less]) => ({
      resource: '/api/iot/{start}/{end}',
      path: { start: String(start), end: String(start - less) },
    })),
  fc
    .oneof(
      fc.constantFrom('0', '-1', '315360001', '99999999999', '1.5', 'abc', ''),
      fc.integer({ min: 315_360_001 }).map(String),
    )
    .map((seconds) => ({ resource: '/api/iot/seconds/{seconds}', path: { seconds } })),
  // The query string: limits out of range, unknown parameters, oversize cursors.
  fc
    .oneof(
      fc
        .oneof(fc.integer({ max: 0 }), fc.integer({ min: config.QUERY_MAX_LIMIT + 1 }), fc.double())
        .filter((n) => !(Number.isInteger(n) && n >= 1 && n <= config.QUERY_MAX_LIMIT))
        .map((n) => ({ limit: String(n) })),
      fc.constantFrom({ limit: 'ten' }, { limit: '' }, { cursor: 'c'.repeat(2049) }, { offset: '1' }),
      fc.dictionary(
        fc
          .string({ minLength: 1, maxLength: 6 })
          .filter((key) => !['limit', 'cursor', '__proto__'].includes(key)),
        fc.string(),
        { minKeys: 1, maxKeys: 3 },
      ),
    )
    .map((query) => ({
      resource: '/api/iot',
      path: {} as Record<string, string>,
      query: query as Record<string, string>,
    })),
);

// --- Structure: depth, size, unicode, number edge cases (raw JSON text) ----------------------------

const STRUCTURE_RUNS = 600;
const CURSOR_RUNS = 400;

/** `depth` containers, arrays or objects at random, around a scalar. */
const nestedText = (kinds: boolean[]) =>
  kinds.reduceRight((inner, isArray) => (isArray ? `[${inner}]` : `{"k":${inner}}`), '0');
const readingText = (fields: string) => `{"data":{${fields}}}`;

// Strings that stress every encoding step: lone surrogates, NUL, direction overrides, emoji with
// modifiers, combining marks, BOM and non-characters.
const hostileText = fc.oneof(
  fc.string16bits({ maxLength: 20 }),
  fc.fullUnicodeString({ maxLength: 20 }),
  fc.constantFrom(
    '\u0000',
    '\ud800',
    '\udfff',
    'a\ud83d',
    '\u202eevil',
    '\u200f\u05d0',
    '😀👍🏽',
    'e\u0301',
    '\uffff',
    '\ufeff',
  ),
);
const hasLoneSurrogate = (text: string) => /\p{Cs}/u.test(text);

// Number literals as a client would write them; the expected answer for each is known independently.
const EXACT_LITERALS = [
  '-0',
  '0',
  '1e308',
  '1.7976931348623157e308',
  '5e-324',
  '0.1',
  '0.30000000000000004',
  '1E+2',
  '-1.5e-7',
  '9007199254740991',
  '-9007199254740991',
];
const INEXACT_LITERALS = [
  '1e309',
  '-1e309',
  '1e-400',
  '2.4703282292062327e-324',
  '9007199254740992',
  '9007199254740993',
  '-9007199254740993',
  '3.141592653589793238',
  '123456789012345678901234567890',
  '0.1000000000000000000001',
];
const SAFE = 2n ** 53n - 1n;
const numberLiteral: fc.Arbitrary<{ literal: string; exact: boolean }> = fc.oneof(
  fc.constantFrom(...EXACT_LITERALS).map((literal) => ({ literal, exact: true })),
  fc.constantFrom(...INEXACT_LITERALS).map((literal) => ({ literal, exact: false })),
  // JSON.stringify of a double prints its shortest exact form: always kept.
  fc
    .double({ noNaN: true, noDefaultInfinity: true })
    .map((n) => ({ literal: JSON.stringify(n), exact: true })),
  // Integers written out in full: kept exactly when they are safe integers.
  fc
    .bigInt({ min: -(10n ** 20n), max: 10n ** 20n })
    .map((n) => ({ literal: n.toString(), exact: n >= -SAFE && n <= SAFE })),
);

type StructuredCase = { text: string; expected: number[] };
// Counterexamples can be megabytes of brackets: print the start and the length only.
const printedShort = (value: StructuredCase): StructuredCase =>
  Object.assign(value, {
    [fc.toStringMethod]: () =>
      `${JSON.stringify(value.text.slice(0, 120))}… (${value.text.length} chars) → ${value.expected}`,
  });
const structuredBody: fc.Arbitrary<StructuredCase> = fc
  .oneof(
    // Depth: the body and `data` are 2 levels; the freeform may use the rest of MAX_JSON_DEPTH.
    fc.array(fc.boolean(), { minLength: 1, maxLength: 150 }).map((kinds) => ({
      text: readingText(`"relative_time":1,"freeform":${nestedText(kinds)}`),
      expected: [kinds.length + 2 <= MAX_JSON_DEPTH ? 202 : 400],
    })),
    fc.constantFrom(100_000, 400_000).map((depth) => ({
      text: readingText(`"freeform":${'['.repeat(depth)}${']'.repeat(depth)}`),
      expected: [400],
    })),
    // Size: huge arrays in the freeform (over 16 KB of JSON is refused), lists around the readings limit.
    fc.integer({ min: 1, max: 200_000 }).map((length) => {
      const freeform = `[${new Array(length).fill('0').join(',')}]`;
      return {
        text: readingText(`"freeform":${freeform}`),
        expected: [freeform.length <= config.MAX_FREEFORM_BYTES ? 202 : 400],
      };
    }),
    fc
      .integer({ min: config.MAX_READINGS_PER_REQUEST - 2, max: config.MAX_READINGS_PER_REQUEST + 2 })
      .map((count) => ({
        text: `[${new Array(count).fill('{"data":{}}').join(',')}]`,
        expected: [count <= config.MAX_READINGS_PER_REQUEST ? 202 : 400],
      })),
    // Unicode in freeform values and keys (kept as sent), and in passwords (refused with a lone surrogate).
    fc.tuple(hostileText, hostileText).map(([key, value]) => ({
      text: readingText(`"freeform":${JSON.stringify({ [key]: value })}`),
      expected: [202],
    })),
    hostileText.map((password) => ({
      text: readingText(`"db_password":${JSON.stringify(password)}`),
      // A device may write with MAX_PASSWORDS_PER_DEVICE different passwords, then 403.
      expected: hasLoneSurrogate(password) ? [400] : [202, 403],
    })),
    // Numbers in the freeform, and as relative_time (which must also be an exact integer).
    numberLiteral.map(({ literal, exact }) => ({
      text: readingText(`"freeform":{"n":[${literal}]}`),
      expected: [exact ? 202 : 400],
    })),
    numberLiteral.map(({ literal, exact }) => {
      const value = Number(literal);
      const integral = exact && Number.isSafeInteger(value);
      return { text: readingText(`"relative_time":${literal}`), expected: [integral ? 202 : 400] };
    }),
  )
  .map(printedShort);

// Cursors no route handed out: arbitrary positions of the right and wrong shapes, and noise.
const forgedCursor = fc
  .oneof(
    fc.record({
      sk: fc.oneof(
        fc.string16bits({ maxLength: 40 }),
        fc.constantFrom('', '1', '~', `1${'9'.repeat(16)}#x`, `0${'0'.repeat(16)}#a-1`),
      ),
    }),
    fc.record({ a: fc.string({ maxLength: 40 }), o: fc.oneof(fc.integer(), fc.double()) }),
    fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
    fc.jsonValue({ maxDepth: 2 }),
  )
  .map((position) => Buffer.from(JSON.stringify(position) ?? 'null').toString('base64url'));
const queryRoute = fc.constantFrom(
  { resource: '/api/iot', path: {} as Record<string, string> },
  { resource: '/api/iot/{start}', path: { start: '-5' } },
  { resource: '/api/iot/{start}/{end}', path: { start: '0', end: '100' } },
  { resource: '/api/iot/seconds/{seconds}', path: { seconds: '3600' } },
);
// Admin path ids: anything a URL can carry, internal partitions included.
const adminPathId = fc.oneof(
  fc.string16bits({ minLength: 1, maxLength: 70 }),
  fc.constantFrom('dev_x#arrivals', 'a#b', 'abc', 'ab', 'x'.repeat(65), '../x', 'dev x'),
);

describe('fuzzing the ingest and query handlers (fast-check, in-process)', () => {
  beforeAll(async () => {
    deviceId = (await registerDevice({})).device.deviceId;
  });
  beforeEach(() => {
    sends.mockReset();
    // Valid readings reach a stand-in for SQS: the property is about what gets sent, not the queue.
    sends.mockImplementation(async () => ({ Successful: [], Failed: [] }));
  });
  afterAll(() => {
    sends.mockRestore();
    reads.mockRestore();
    rawReads.mockRestore();
  });

  it(`answers ${INGEST_MALFORMED_RUNS} malformed ingest bodies with 400 and enqueues nothing`, async () => {
    await fc.assert(
      fc.asyncProperty(malformedIngestBody, async (body) => {
        const response = await invoke(ingest, ingestEvent(body));
        expect(response.statusCode).toBe(400);
        expectSafeResponse(response.statusCode, response.headers ?? {}, response.body);
        expect(['ValidationError', 'PayloadTooLarge']).toContain(JSON.parse(response.body).error.code);
        expect(sends).not.toHaveBeenCalled();
      }),
      { numRuns: INGEST_MALFORMED_RUNS },
    );
  }, 240_000);

  it('rejects a valid body under a malformed Idempotency-Key, enqueueing nothing', async () => {
    await fc.assert(
      fc.asyncProperty(badIdempotencyKey, async (key) => {
        const response = await invoke(
          ingest,
          ingestEvent(JSON.stringify({ data: { relative_time: 1 } }), { 'Idempotency-Key': key }),
        );
        expect(response.statusCode).toBe(400);
        expect(sends).not.toHaveBeenCalled();
      }),
      { numRuns: 200 },
    );
  });

  it(`never answers arbitrary JSON (${INGEST_ANY_JSON_RUNS} bodies) with a 5xx, and enqueues only on 202`, async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(anyJson, async (value) => {
        sends.mockClear();
        const response = await invoke(ingest, ingestEvent(JSON.stringify(value)));
        expectSafeResponse(response.statusCode, response.headers ?? {}, response.body);
        expect([202, 400]).toContain(response.statusCode);
        if (response.statusCode === 202) {
          accepted += 1;
          expect(sends).toHaveBeenCalled();
        } else expect(sends).not.toHaveBeenCalled();
      }),
      { numRuns: INGEST_ANY_JSON_RUNS },
    );
    // Both sides of the property were exercised.
    expect(accepted).toBeGreaterThan(INGEST_ANY_JSON_RUNS / 10);
    expect(accepted).toBeLessThan(INGEST_ANY_JSON_RUNS);
  }, 240_000);

  it(`answers ${QUERY_MALFORMED_RUNS} malformed queries with 400 without reading anything`, async () => {
    await fc.assert(
      fc.asyncProperty(malformedQuery, async (request) => {
        reads.mockClear();
        rawReads.mockClear();
        const response = await invoke(query, queryEvent(request));
        expect({ request, status: response.statusCode }).toEqual({ request, status: 400 });
        expectSafeResponse(response.statusCode, response.headers ?? {}, response.body);
        expect(reads).not.toHaveBeenCalled();
        expect(rawReads).not.toHaveBeenCalled();
      }),
      { numRuns: QUERY_MALFORMED_RUNS },
    );
  }, 240_000);

  it(`answers ${STRUCTURE_RUNS} structurally hostile bodies (depth, size, unicode, numbers) as expected, never 5xx`, async () => {
    await fc.assert(
      fc.asyncProperty(structuredBody, async ({ text, expected }) => {
        sends.mockClear();
        const response = await invoke(ingest, ingestEvent(text));
        expect({ status: response.statusCode, text: text.slice(0, 200) }).toEqual({
          status: expected.includes(response.statusCode) ? response.statusCode : expected,
          text: text.slice(0, 200),
        });
        expectSafeResponse(response.statusCode, response.headers ?? {}, response.body);
        if (response.statusCode === 202) expect(sends).toHaveBeenCalled();
        else expect(sends).not.toHaveBeenCalled();
      }),
      { numRuns: STRUCTURE_RUNS },
    );
  }, 240_000);

  it(`answers ${CURSOR_RUNS} forged cursors on every readings route with 200 or 400, never 5xx`, async () => {
    await fc.assert(
      fc.asyncProperty(queryRoute, forgedCursor, async (route, cursor) => {
        const response = await invoke(query, queryEvent({ ...route, query: { cursor } }));
        expect({ route, cursor, status: [200, 400].includes(response.statusCode) }).toEqual({
          route,
          cursor,
          status: true,
        });
        expectSafeResponse(response.statusCode, response.headers ?? {}, response.body);
      }),
      { numRuns: CURSOR_RUNS },
    );
  }, 240_000);

  it('answers an admin query naming any path id with 200 (a device id) or 400 (anything else), never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(adminPathId, async (id) => {
        const event = queryEvent({ resource: '/api/devices/{deviceId}/iot', path: { deviceId: id } });
        const asAdmin = {
          ...event,
          requestContext: { ...event.requestContext, authorizer: { role: 'admin' } },
        } as APIGatewayProxyEvent;
        const response = await invoke(query, asAdmin);
        expect({ id, status: response.statusCode }).toEqual({
          id,
          status: /^[A-Za-z0-9_-]{3,64}$/.test(id) ? 200 : 400,
        });
        expectSafeResponse(response.statusCode, response.headers ?? {}, response.body);
      }),
      { numRuns: 300 },
    );
  }, 240_000);

  it('answers a failing dependency with a generic JSON error, never its message or a stack', async () => {
    sends.mockImplementation(async () => {
      throw Object.assign(
        new Error(
          'User: arn:aws:sts::123456789012:assumed-role/x is not authorized to perform sqs:SendMessage on sensorcloud-local-readings',
        ),
        { name: 'AccessDenied' },
      );
    });
    const response = await invoke(ingest, ingestEvent(JSON.stringify({ data: { relative_time: 1 } })));
    expect(response.statusCode).toBe(500);
    expect(JSON.parse(response.body)).toEqual({
      error: { code: 'InternalError', message: 'Internal server error' },
    });
    expectSafeResponse(response.statusCode, response.headers ?? {}, response.body);
  });
});

// --- Alert rules (admin) ---------------------------------------------------------------------------

function ruleEvent(
  method: string,
  resource: string,
  body: string,
  extra: Partial<APIGatewayProxyEvent> = {},
) {
  return {
    ...ingestSample,
    resource,
    path: resource,
    httpMethod: method,
    headers: { 'Content-Type': 'application/json' },
    requestContext: { ...ingestSample.requestContext, authorizer: { role: 'admin', principalId: 'admin' } },
    body,
    ...extra,
  } as unknown as APIGatewayProxyEvent;
}

// Arbitrary JSON, near-rules among it; never naming devices, so a rule that happens to be valid
// cannot apply to another test's devices (and it is disabled).
const ruleLike = fc.record(
  {
    field: fc.oneof(fc.string({ maxLength: 20 }), fc.constant('fuzz.x')),
    comparison: fc.oneof(fc.string({ maxLength: 3 }), fc.constantFrom('>', 'gte', 'ne', '=<')),
    threshold: fc.oneof(fc.double(), fc.string({ maxLength: 4 }), fc.constant(null)),
    forSeconds: fc.oneof(fc.integer(), fc.double()),
    forReadings: fc.integer(),
    severity: fc.string({ maxLength: 8 }),
    name: fc.string16bits({ maxLength: 10 }),
  },
  { requiredKeys: [] },
);
const anyRuleBody = fc
  .oneof(fc.jsonValue({ maxDepth: 3 }), ruleLike)
  .map((value) =>
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? { ...value, devices: undefined, enabled: false }
      : value,
  );

describe('fuzzing the alert rules handler (fast-check, in-process)', () => {
  const who = { requestId: 'fuzz', actor: 'admin', route: 'fuzz' };

  it('answers arbitrary JSON creating or changing a rule with 2xx, 400 or 409, never 5xx', async () => {
    const rule = await createRule(
      {
        devices: 'all',
        field: 'fuzz.never',
        comparison: '>',
        threshold: 1,
        severity: 'info',
        enabled: false,
      },
      who,
    );
    const created: string[] = [];
    try {
      await fc.assert(
        fc.asyncProperty(anyRuleBody, fc.option(fc.string({ maxLength: 12 })), async (body, ifMatch) => {
          const text = JSON.stringify(body) ?? 'null';
          const post = await invoke(manageAlertRules, ruleEvent('POST', '/api/alert-rules', text));
          expectSafeResponse(post.statusCode, post.headers ?? {}, post.body);
          expect([201, 400]).toContain(post.statusCode);
          if (post.statusCode === 201) created.push(JSON.parse(post.body).ruleId);
          const patch = await invoke(
            manageAlertRules,
            ruleEvent('PATCH', '/api/alert-rules/{ruleId}', text, {
              pathParameters: { ruleId: rule.ruleId },
              headers: {
                'Content-Type': 'application/json',
                ...(ifMatch === null ? {} : { 'If-Match': ifMatch }),
              },
            }),
          );
          expectSafeResponse(patch.statusCode, patch.headers ?? {}, patch.body);
          expect([200, 400, 409]).toContain(patch.statusCode);
        }),
        { numRuns: 300 },
      );
    } finally {
      for (const ruleId of [rule.ruleId, ...created]) await deleteRule(ruleId, who);
    }
  }, 240_000);
});

describe('fuzzing compressed bodies and device settings (fast-check, in-process)', () => {
  // Spies of their own: the block above restores its spies when it ends.
  let queued: jest.SpiedFunction<typeof sqs.send>;
  let written: jest.SpiedFunction<typeof dynamo.send>;
  beforeAll(async () => {
    deviceId = (await registerDevice({})).device.deviceId;
    queued = jest.spyOn(sqs, 'send');
    written = jest.spyOn(dynamo, 'send');
  });
  beforeEach(() => {
    queued.mockReset();
    queued.mockImplementation(async () => ({ Successful: [], Failed: [] }));
  });
  afterAll(() => {
    queued.mockRestore();
    written.mockRestore();
  });

  const encodedEvent = (bytes: Buffer, encoding: string) =>
    ({
      ...ingestEvent(undefined, { 'Content-Encoding': encoding }),
      body: bytes.toString('base64'),
      isBase64Encoded: true,
    }) as unknown as APIGatewayProxyEvent;

  it('answers arbitrary bytes labelled gzip (corrupt, truncated, or gzip of anything) without a 5xx', async () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 200 }).map((array) => Buffer.from(array)),
      // A real gzip header followed by anything.
      fc
        .uint8Array({ maxLength: 200 })
        .map((array) => Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), array])),
      anyJson.map((value) => gzipSync(JSON.stringify(value))),
      anyJson.map((value) => {
        const whole = gzipSync(JSON.stringify(value));
        return whole.subarray(0, Math.max(2, whole.length - 5));
      }),
    );
    await fc.assert(
      fc.asyncProperty(bytes, fc.constantFrom('gzip', 'x-gzip', 'deflate'), async (body, encoding) => {
        queued.mockClear();
        const response = await invoke(ingest, encodedEvent(body, encoding));
        expectSafeResponse(response.statusCode, response.headers ?? {}, response.body);
        expect([202, 400, 413, 415]).toContain(response.statusCode);
        if (response.statusCode === 202) expect(queued).toHaveBeenCalled();
        else expect(queued).not.toHaveBeenCalled();
      }),
      { numRuns: 1_000 },
    );
  }, 240_000);

  it('answers device settings with 200 exactly when they are valid, else 400 changing nothing', async () => {
    const window = fc.oneof(
      fc.integer({ min: -10, max: 40_000_000 }),
      fc.double({ noNaN: true }),
      fc.string({ maxLength: 8 }),
      fc.constant(null),
    );
    const action = fc.oneof(
      fc.constantFrom('flag', 'reject', null),
      fc.string({ maxLength: 8 }),
      fc.integer(),
    );
    const settings = fc.oneof(
      fc.record({ clockSkewWindowSeconds: window, clockSkewAction: action }, { requiredKeys: [] }),
      anyJson,
    );
    const isValid = (body: unknown): boolean => {
      if (body === null || typeof body !== 'object' || Array.isArray(body)) return false;
      const entries = Object.entries(body as Record<string, unknown>);
      if (entries.length === 0) return false;
      const seconds = (value: unknown) =>
        value === null ||
        (Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 31_536_000);
      return entries.every(([key, value]) => {
        if (key === 'clockSkewWindowSeconds' || key === 'expectedIntervalSeconds') return seconds(value);
        if (key === 'clockSkewAction') return value === null || value === 'flag' || value === 'reject';
        if (key === 'alertsOnPasswordReadings') return value === null || typeof value === 'boolean';
        // Random keys are unlikely to be `name`, but it is a setting too.
        if (key === 'name')
          return (
            typeof value === 'string' && value.length >= 1 && value.length <= 200 && isWellFormedText(value)
          );
        return false;
      });
    };
    const event = (body: unknown) =>
      ({
        ...ingestSample,
        httpMethod: 'PATCH',
        resource: '/api/devices/{deviceId}',
        path: `/api/devices/${deviceId}`,
        pathParameters: { deviceId },
        requestContext: { ...ingestSample.requestContext, authorizer: { role: 'admin' } },
        body: JSON.stringify(body),
      }) as unknown as APIGatewayProxyEvent;
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(settings, async (body) => {
        written.mockClear();
        const response = await invoke(manageDevices, event(body));
        expectSafeResponse(response.statusCode, response.headers ?? {}, response.body);
        expect({ body, status: response.statusCode }).toEqual({ body, status: isValid(body) ? 200 : 400 });
        if (response.statusCode === 200) accepted += 1;
        else expect(written).not.toHaveBeenCalled();
      }),
      { numRuns: 500 },
    );
    expect(accepted).toBeGreaterThan(10);
  }, 240_000);
});
