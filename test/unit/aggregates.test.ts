import { alignedRange, bucketCount, chooseStep, MAX_BUCKETS } from '../../src/lib/aggregates/buckets';
import {
  minuteOfPartial,
  PARTIAL_SORT_KEY,
  partialRange,
  partialSortKey,
} from '../../src/lib/aggregates/keys';
import { packTransactions, transactionItems } from '../../src/lib/aggregates/plan';
import { MAX_FIELDS_PER_PARTIAL, mergeStat, minutePartials, statOf } from '../../src/lib/aggregates/stats';
import { aggregatesQuery } from '../../src/lib/aggregates/wire';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const t0 = Date.UTC(2026, 10, 30);

describe('aggregates: buckets and steps', () => {
  it('rounds a range out to whole steps, aligned to the epoch in UTC', () => {
    expect(alignedRange(t0 + 61_000, t0 + 2 * HOUR + 1, '1h')).toEqual({ start: t0, end: t0 + 3 * HOUR });
    expect(alignedRange(t0 + 7 * HOUR, t0 + 13 * HOUR, '6h')).toEqual({
      start: t0 + 6 * HOUR,
      end: t0 + 18 * HOUR,
    });
    expect(alignedRange(t0 + 5 * HOUR, t0 + DAY, '1d')).toEqual({ start: t0, end: t0 + DAY });
    expect(bucketCount(t0, t0 + HOUR, '1m')).toBe(60);
    expect(bucketCount(t0 + 30_000, t0 + 90_000, '1m')).toBe(2);
  });

  it('chooses the finest step with at most 1,000 buckets', () => {
    expect(chooseStep(t0, t0 + 1_000 * 60_000)).toBe('1m');
    expect(chooseStep(t0, t0 + 1_000 * 60_000 + 1)).toBe('5m');
    expect(chooseStep(t0, t0 + DAY)).toBe('5m');
    expect(chooseStep(t0, t0 + 7 * DAY)).toBe('15m');
    expect(chooseStep(t0, t0 + 30 * DAY)).toBe('1h');
    expect(chooseStep(t0, t0 + 200 * DAY)).toBe('6h');
    expect(chooseStep(t0, t0 + 400 * DAY)).toBe('1d');
    // Misaligned ends count the buckets they touch.
    expect(bucketCount(t0 + 1, t0 + 1_000 * 60_000, '1m')).toBe(1_000);
    expect(chooseStep(t0 + 1, t0 + 1_000 * 60_000 + 1)).toBe('5m');
    expect(MAX_BUCKETS).toBe(1_000);
  });
});

describe('aggregates: stats and partials', () => {
  it('merges count, min, max and sum in any order', () => {
    const values = [3, -1.5, 7, 0, 2.25];
    const forward = values
      .map(statOf)
      .reduce<ReturnType<typeof statOf> | undefined>((a, b) => mergeStat(a, b), undefined);
    const backward = [...values]
      .reverse()
      .map(statOf)
      .reduce<ReturnType<typeof statOf> | undefined>((a, b) => mergeStat(a, b), undefined);
    expect(forward).toEqual([5, -1.5, 7, 10.75]);
    expect(backward).toEqual(forward);
    const [a, b] = [
      mergeStat(statOf(3), statOf(-1.5)),
      mergeStat(mergeStat(statOf(7), statOf(0)), statOf(2.25)),
    ];
    expect(mergeStat(a, b)).toEqual(forward);
  });

  it('buckets each reading by its time (interrogator time when plausible, else arrival) and field path', () => {
    const arrivedAt = t0 + 10 * HOUR + 5_000;
    const { partials, dropped } = minutePartials(
      [
        { interrogatorTime: (t0 + 61_000) * 1000, freeform: { rssi: -50, env: { temperature: 20 } } },
        { interrogatorTime: (t0 + 119_999) * 1000, freeform: { rssi: -40, env: { temperature: 'hot' } } },
        // A counter, not a time: the reading counts at its arrival.
        { interrogatorTime: 12_345, freeform: { rssi: -70, flag: true } },
        { interrogatorTime: (t0 + 61_000) * 1000, freeform: 'not an object' },
      ],
      arrivedAt,
    );
    expect(dropped).toBe(0);
    expect([...partials.keys()]).toEqual([t0 + 60_000, t0 + 10 * HOUR]);
    expect(Object.fromEntries(partials.get(t0 + 60_000) ?? [])).toEqual({
      rssi: [2, -50, -40, -90],
      'env.temperature': [1, 20, 20, 20],
    });
    expect(Object.fromEntries(partials.get(t0 + 10 * HOUR) ?? [])).toEqual({ rssi: [1, -70, -70, -70] });
  });

  it('keeps at most 32 distinct fields per minute of one message and counts what it leaves out', () => {
    const wide = (offset: number) =>
      Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`k${offset + i}`, i]));
    const { partials, dropped } = minutePartials(
      [
        { interrogatorTime: t0 * 1000, freeform: wide(0) },
        { interrogatorTime: t0 * 1000, freeform: wide(20) },
      ],
      t0,
    );
    expect(partials.get(t0)?.size).toBe(MAX_FIELDS_PER_PARTIAL);
    // 10 fields of the second reading were known; 2 of its 20 new ones fit.
    expect(dropped).toBe(18);
  });
});

describe('aggregates: keys and transactions', () => {
  it('lays partials out by minute, ranges bounding whole minutes', () => {
    const sk = partialSortKey(t0 + 60_000, 'kAbc_-1');
    expect(sk).toMatch(PARTIAL_SORT_KEY);
    expect(minuteOfPartial(sk)).toBe(t0 + 60_000);
    const range = partialRange(t0 + 60_000, t0 + 120_000);
    expect(sk >= range.from && sk <= range.to).toBe(true);
    expect(partialSortKey(t0 + 120_000, 'a') > range.to).toBe(true);
    expect(partialSortKey(t0, 'zzz') < range.from).toBe(true);
  });

  it('packs partials into transactions of at most 100 items, a widest partial alone', () => {
    const partial = (fields: string[]) => ({ fields });
    const narrow = Array.from({ length: 200 }, () => partial(['a', 'b']));
    const groups = packTransactions(narrow);
    expect(groups.every((group) => transactionItems(group.length, 2) <= 100)).toBe(true);
    expect(groups.flat()).toHaveLength(200);
    expect(groups[0]).toHaveLength(93);
    const widest = Array.from({ length: MAX_FIELDS_PER_PARTIAL }, (_, i) => `f${i}`);
    expect(transactionItems(1, widest.length)).toBeLessThanOrEqual(100);
    expect(packTransactions([partial(widest), partial(widest), partial(['x'])]).map((g) => g.length)).toEqual(
      [2, 1],
    );
    expect(
      packTransactions([partial(widest), partial(widest.map((f) => `${f}'`))]).map((g) => g.length),
    ).toEqual([1, 1]);
  });
});

describe('aggregates: query validation', () => {
  const valid = { field: 'env.temperature', from: '2026-11-01T00:00:00Z', to: '2026-11-02T00:00:00+01:00' };
  const problem = (query: Record<string, unknown>) => {
    const result = aggregatesQuery.safeParse(query);
    return result.success ? undefined : result.error.issues[0]?.path.join('.');
  };

  it('accepts dot paths, offsets and every step', () => {
    expect(aggregatesQuery.parse({ ...valid, step: '1h' })).toEqual({
      field: 'env.temperature',
      from: Date.UTC(2026, 10, 1),
      to: Date.UTC(2026, 10, 1, 23),
      step: '1h',
    });
    expect(problem({ ...valid, to: '2026-11-01T16:00:00Z', step: '1m' })).toBeUndefined();
    for (const step of ['5m', '15m', '6h', '1d']) expect(problem({ ...valid, step })).toBeUndefined();
  });

  it('refuses bad fields, times, steps and ranges', () => {
    expect(problem({ ...valid, field: '' })).toBe('field');
    expect(problem({ ...valid, field: 'a..b' })).toBe('field');
    expect(problem({ ...valid, field: 'a.b.c.d.e' })).toBe('field');
    expect(problem({ ...valid, field: 'x y' })).toBe('field');
    expect(problem({ ...valid, from: 'yesterday' })).toBe('from');
    expect(problem({ ...valid, to: '2026-13-01T00:00:00Z' })).toBe('to');
    expect(problem({ ...valid, step: '2h' })).toBe('step');
    expect(problem({ ...valid, to: valid.from })).toBe('to');
    expect(problem({ ...valid, from: '2026-11-03T00:00:00Z' })).toBe('to');
    expect(problem({ ...valid, from: '2025-01-01T00:00:00Z' })).toBe('to');
    // 1,440 one-minute buckets in a day: too many for an explicit step.
    expect(problem({ ...valid, step: '1m' })).toBe('step');
    expect(problem({ ...valid, extra: '1' })).toBe('');
  });
});
