import { ValidationError } from '../../src/lib/errors';
import { parseIngestBody, queryBody, rangeParameters, toIncomingReadings } from '../../src/lib/readings/wire';

const one = (data: Record<string, unknown>) => toIncomingReadings(parseIngestBody({ data }))[0];

describe('ingest wire format', () => {
  it.each([
    [500, 500],
    ['500', 500],
    [' -7 ', -7],
    [7.0, 7],
    [-0, 0],
    ['-0', 0],
    [9_007_199_254_740_991, 9_007_199_254_740_991],
  ])('relative_time %p → %p', (value, expected) => {
    expect(Object.is(one({ relative_time: value })?.relativeTime, expected)).toBe(true);
  });

  // Not exactly an integer → 400: truncating would store another value than the one sent.
  it.each([1.9, -1.9, 700.9, '700.9', '1e3', 2 ** 53, '9007199254740993'])(
    'rejects relative_time %p (not exactly a safe integer)',
    (value) => {
      expect(() => one({ relative_time: value })).toThrow(ValidationError);
      expect(() => one({ interrogator_time: value })).toThrow(ValidationError);
    },
  );

  // Date.UTC maps years 0–99 to 1900–1999: "1/1/0099" used to be stored as 1999.
  it.each(['1/1/0099 12:00:00 AM', '1/1/0001 12:00:00 AM', '12/31/1683 11:59:59 PM', '1/1/2256 12:00:00 AM'])(
    'rejects the date-time %p (outside what whole microseconds can hold), never moves it',
    (value) => {
      expect(() => one({ interrogator_time: value })).toThrow(ValidationError);
    },
  );

  it.each([
    ['1/1/1700 12:00:00 AM', Date.parse('1700-01-01T00:00:00Z') * 1000],
    ['12/31/1969 11:59:59.5 PM', -500_000],
    ['1/1/2200 12:00:00 AM', Date.parse('2200-01-01T00:00:00Z') * 1000],
  ])('keeps the date-time %p exactly', (value, expected) => {
    expect(one({ interrogator_time: value })?.interrogatorTime).toBe(expected);
  });

  it('rejects a db_password with an unpaired surrogate (UTF-8 would turn it into U+FFFD)', () => {
    expect(() => one({ db_password: 'pw\ud800' })).toThrow(ValidationError);
    expect(() => one({ db_password: 'pw\udc00x' })).toThrow(ValidationError);
    expect(one({ db_password: 'pw😀' })?.password).toBe('pw😀');
  });

  it.each([
    ['3/18/2014 10:59:19.123456 AM', 1_395_140_359_123_456],
    ['3/18/2014  10:59:19.123456 AM', 1_395_140_359_123_456],
    ['3/18/2014 12:00:00 AM', 1_395_100_800_000_000],
    ['3/18/2014 12:00:00.5 PM', 1_395_144_000_500_000],
    ['1395139159123456', 1_395_139_159_123_456],
  ])('interrogator_time %p → %p µs', (value, expected) => {
    expect(one({ interrogator_time: value })?.interrogatorTime).toBe(expected);
  });

  it.each([
    '2/30/2014 10:00:00 AM',
    '3/18/2014 13:00:00 PM',
    '3/18/2014 10:61:00 AM',
    'yesterday',
    '1.5',
    null,
    true,
    {},
  ])('rejects interrogator_time %p', (value) => {
    expect(() => one({ interrogator_time: value })).toThrow(ValidationError);
  });

  it('defaults like the original: times -1, freeform "", empty password means none', () => {
    expect(one({ db_password: '' })).toEqual({
      relativeTime: -1,
      interrogatorTime: -1,
      freeform: '',
      password: undefined,
    });
  });

  it('names the index and field of the first bad item of a list', () => {
    expect(() => parseIngestBody([{ data: {} }, { data: { relative_time: [] } }])).toThrow(
      '[1].data.relative_time: expected an integer or a numeric string',
    );
  });

  it('ignores unknown keys inside data (the original did)', () => {
    expect(one({ rssi: 5, relative_time: 1 })).toEqual({
      relativeTime: 1,
      interrogatorTime: -1,
      freeform: '',
      password: undefined,
    });
  });
});

describe('query inputs', () => {
  it('takes an optional body with an optional password', () => {
    expect(queryBody.parse(undefined)).toBeUndefined();
    expect(queryBody.parse({})).toBeUndefined();
    expect(queryBody.parse({ data: { db_password: '' } })).toBeUndefined();
    expect(queryBody.parse({ data: { db_password: 'abc123' } })).toBe('abc123');
    expect(queryBody.safeParse({ data: 'x' }).success).toBe(false);
  });

  it('parses path numbers strictly', () => {
    expect(rangeParameters.parse({ start: '-5', end: '10' })).toEqual({ start: -5, end: 10 });
    expect(rangeParameters.safeParse({ start: '1e3' }).success).toBe(false);
    expect(rangeParameters.safeParse({ seconds: '0' }).success).toBe(false);
  });
});
