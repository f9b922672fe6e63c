import { MAX_FIELDS_PER_READING, numericField, numericFields } from '../../src/lib/readings/fields';
import { EARLIEST_PLAUSIBLE_MS, MAX_FUTURE_MS, readingTimeMs } from '../../src/lib/readings/reading-time';

describe('numericFields', () => {
  it('lists top-level and nested numbers by dot path, in key order', () => {
    expect(numericFields({ rssi: -59, env: { temperature: 21.5, ok: true, label: '7' }, a: [1, 2] })).toEqual(
      [
        ['env.temperature', 21.5],
        ['rssi', -59],
      ],
    );
  });

  it('takes nothing from values that are not objects', () => {
    for (const value of [null, 3, 'x', [1, 2], true, undefined]) expect(numericFields(value)).toEqual([]);
  });

  it('skips keys that cannot be a path and paths deeper than four keys', () => {
    expect(numericFields({ 'a.b': 1, 'a b': 2, é: 3, a: { b: { c: { d: 4, e: { f: 5 } } } } })).toEqual([
      ['a.b.c.d', 4],
    ]);
  });

  it('stops at the limit per reading', () => {
    const wide = Object.fromEntries(
      Array.from({ length: 100 }, (_, i) => [`k${String(i).padStart(3, '0')}`, i]),
    );
    const fields = numericFields(wide);
    expect(fields).toHaveLength(MAX_FIELDS_PER_READING);
    expect(fields[0]).toEqual(['k000', 0]);
  });

  it('reads one path, and only a finite number there', () => {
    expect(numericField({ env: { t: 2 } }, 'env.t')).toBe(2);
    expect(numericField({ env: { t: '2' } }, 'env.t')).toBeUndefined();
    expect(numericField({ env: 2 }, 'env.t')).toBeUndefined();
    expect(numericField({}, 'constructor')).toBeUndefined();
  });
});

describe('readingTimeMs', () => {
  const arrived = Date.UTC(2026, 10, 30, 12);
  it('uses a plausible interrogator time (µs) and the arrival time otherwise', () => {
    expect(readingTimeMs((arrived - 5_000) * 1000 + 999, arrived)).toBe(arrived - 5_000);
    expect(readingTimeMs(500_000, arrived)).toBe(arrived);
    expect(readingTimeMs((EARLIEST_PLAUSIBLE_MS - 1) * 1000, arrived)).toBe(arrived);
    expect(readingTimeMs(EARLIEST_PLAUSIBLE_MS * 1000, arrived)).toBe(EARLIEST_PLAUSIBLE_MS);
    expect(readingTimeMs((arrived + MAX_FUTURE_MS) * 1000, arrived)).toBe(arrived + MAX_FUTURE_MS);
    expect(readingTimeMs((arrived + MAX_FUTURE_MS + 1) * 1000, arrived)).toBe(arrived);
  });
});
