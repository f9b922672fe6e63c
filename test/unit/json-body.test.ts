import { ValidationError } from '../../src/lib/errors';
import { isExactNumber, MAX_JSON_DEPTH, parseJsonBody } from '../../src/lib/http/json-body';

const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const rejection = (text: string) => {
  try {
    parseJsonBody(text);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error(`accepted ${text.slice(0, 60)}`);
};

describe('request body depth limit', () => {
  it(`accepts ${MAX_JSON_DEPTH} nested containers and refuses one more`, () => {
    expect(parseJsonBody(nested(MAX_JSON_DEPTH))).toBeDefined();
    expect(rejection(nested(MAX_JSON_DEPTH + 1)).message).toMatch(/nested deeper than 64 levels/);
  });

  it('refuses 100,000 nested arrays (JSON.stringify of them overflows the stack) as a 400', () => {
    expect(rejection(nested(100_000)).status).toBe(400);
    expect(rejection(`{"data":{"freeform":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}}`).status).toBe(
      400,
    );
  });

  it('does not count brackets inside strings', () => {
    const text = JSON.stringify({ data: { freeform: '['.repeat(10_000) } });
    expect(parseJsonBody(text)).toEqual({ data: { freeform: '['.repeat(10_000) } });
  });
});

describe('numbers a double cannot keep exactly are refused, not rounded', () => {
  it.each([
    '9007199254740991',
    '-9007199254740991',
    '0',
    '-0',
    '0.1',
    '1.10',
    '0.30000000000000004',
    '1e308',
    '1E-7',
    '5e-324',
    '123456789.125',
    '2.5e+3',
    '1e16',
  ])('keeps %s', (literal) => {
    expect(isExactNumber(literal)).toBe(true);
  });

  it.each([
    '9007199254740992',
    '9007199254740993',
    '-9007199254740993',
    '18446744073709551615',
    '12345678901234567e0',
    '3.14159265358979323846',
    '0.1000000000000000055511151231257827',
    '1e400',
    '-1e400',
    '1e-400',
    '2.4703282292062327e-324',
  ])('refuses %s', (literal) => {
    expect(isExactNumber(literal)).toBe(false);
  });

  it('names where the number is in the body', () => {
    const error = rejection('[{"data":{"freeform":{"counts":[1, 2, 9007199254740993]}}}]');
    expect(error.details).toEqual({ field: '[0].data.freeform.counts[2]' });
    expect(error.message).toMatch(/9007199254740993 cannot be kept exactly/);
  });

  it('handles escaped quotes and keys with escapes while tracking the path', () => {
    const error = rejection('{"a\\"b":"x\\"]","n\\u0065xt":{"v":1e999}}');
    expect(error.details).toEqual({ field: 'next.v' });
  });

  it('reports invalid JSON as invalid JSON', () => {
    expect(rejection('{"a": 01}').message).toBe('Request body is not valid JSON');
    expect(rejection('{"a":').message).toBe('Request body is not valid JSON');
  });
});
