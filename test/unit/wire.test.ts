import { ValidationError } from '../../src/lib/errors';
import { parseIngestBody, queryBody, rangeParameters, toIncomingReadings } from '../../src/lib/readings/wire';

const one = (data: Record<string, unknown>) => toIncomingReadings(parseIngestBody({ data }))[0];

describe('ingest wire format', () => {
  it.each([
    [500, 500],
    ['500', 500],
    [' -7 ', -7],
    [1.9, 1],
    [-1.9, -1],
  ])('relative_time %p → %p (as Python int())', (value, expected) => {
    expect(one({ relative_time: value })?.relativeTime).toBe(expected);
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
