import {
  COMPARISONS,
  compare,
  type EvaluatedReading,
  evaluate,
  initialState,
  isAfter,
} from '../../src/lib/alerts/evaluate';
import { newRuleSchema, ruleChangeSchema } from '../../src/lib/alerts/rules';

const T0 = Date.UTC(2026, 10, 30, 6, 0, 0);
const byCount = { field: 't', comparison: '>' as const, threshold: 30, forReadings: 2, version: 1 };
const byTime = { field: 't', comparison: '>' as const, threshold: 30, forSeconds: 60, version: 1 };

/** Readings of one request `batchId`, one per value, `stepMs` apart. */
const series = (values: number[], batchId = 'b1', start = T0, stepMs = 10_000): EvaluatedReading[] =>
  values.map((value, index) => ({ at: start + index * stepMs, batchId, index, value }));

describe('alert rule evaluation', () => {
  it('compares with every operator', () => {
    const results = COMPARISONS.map((op) => [compare(5, op, 5), compare(6, op, 5), compare(4, op, 5)]);
    expect(results).toEqual([
      [false, true, false], // >
      [true, true, false], // >=
      [false, false, true], // <
      [true, false, true], // <=
      [true, false, false], // ==
      [false, true, true], // !=
    ]);
  });

  it('fires after N consecutive matching readings, once, and clears after N non-matching ones, once', () => {
    const { state, transitions } = evaluate(
      byCount,
      initialState(1),
      series([31, 20, 31, 32, 33, 34, 10, 35, 10, 10]),
    );
    expect(transitions.map((t) => [t.to, t.reading.index, t.reading.value])).toEqual([
      ['firing', 3, 32],
      ['clear', 9, 10],
    ]);
    expect(state).toMatchObject({ status: 'clear', streak: 0 });
  });

  it('fires when matching readings have spanned forSeconds of reading time, not before', () => {
    // 31 at 0 s, 10 s, …, 50 s: 50 s held, not yet; at 60 s it fires.
    const first = evaluate(byTime, initialState(1), series([31, 31, 31, 31, 31, 31]));
    expect(first.transitions).toEqual([]);
    expect(first.state).toMatchObject({ status: 'clear', streak: 6, streakSince: T0 });
    const second = evaluate(byTime, first.state, series([31], 'b2', T0 + 60_000));
    expect(second.transitions.map((t) => t.to)).toEqual(['firing']);
    // A non-matching reading in between restarts the hold.
    const broken = evaluate(byTime, initialState(1), series([31, 31, 29, 31, 31, 31, 31, 31, 31, 31]));
    expect(broken.transitions.map((t) => t.reading.index)).toEqual([9]);
  });

  it('orders readings by reading time whatever the request order, and skips what it already evaluated', () => {
    const readings = series([31, 31, 20]).reverse();
    const once = evaluate(byCount, initialState(1), readings);
    // Sorted: 31, 31 (fires), 20 (one clear reading, not two).
    expect(once.transitions.map((t) => t.to)).toEqual(['firing']);
    const again = evaluate(byCount, once.state, readings);
    expect(again).toEqual({ state: once.state, transitions: [], evaluated: 0 });
    // Late readings (older than the last evaluated) are not evaluated.
    const late = evaluate(byCount, once.state, series([10, 10], 'b0', T0 - 60_000));
    expect(late.evaluated).toBe(0);
  });

  it('tells same-millisecond readings apart by request and position', () => {
    const last = { at: T0, batchId: 'b1', index: 3 };
    expect(isAfter({ at: T0, batchId: 'b1', index: 3 }, last)).toBe(false);
    expect(isAfter({ at: T0, batchId: 'b1', index: 4 }, last)).toBe(true);
    expect(isAfter({ at: T0, batchId: 'b2', index: 0 }, last)).toBe(true);
    expect(isAfter({ at: T0 - 1, batchId: 'b9', index: 9 }, last)).toBe(false);
  });

  it('starts a new streak when the rule changed, keeping the status', () => {
    const firing = evaluate({ ...byCount, forReadings: 1 }, initialState(1), series([40]));
    expect(firing.state.status).toBe('firing');
    const pending = evaluate({ ...byCount, forReadings: 3 }, firing.state, series([10], 'b2', T0 + 1000));
    expect(pending.state).toMatchObject({ status: 'firing', streak: 1 });
    const changed = evaluate(
      { ...byCount, forReadings: 3, version: 2 },
      pending.state,
      series([10], 'b3', T0 + 2000),
    );
    expect(changed.state).toMatchObject({ status: 'firing', streak: 1, ruleVersion: 2 });
  });

  it('never emits two transitions in the same direction in a row (no storm on a flapping value)', () => {
    const values = Array.from({ length: 200 }, (_, index) => (index % 3 === 0 ? 10 : 40));
    const { transitions } = evaluate(byCount, initialState(1), series(values));
    for (let index = 1; index < transitions.length; index++) {
      expect(transitions[index]?.to).not.toBe(transitions[index - 1]?.to);
    }
    // 40, 40 fires; a lone 10 never clears it.
    expect(transitions.map((t) => t.to)).toEqual(['firing']);
  });
});

describe('alert rule input', () => {
  const valid = { devices: 'all', field: 'env.temperature', comparison: 'gt', threshold: 30 };

  it('normalizes comparison names and defaults to one reading, severity warning, enabled', () => {
    expect(newRuleSchema.parse(valid)).toEqual({
      ...valid,
      comparison: '>',
      severity: 'warning',
      enabled: true,
    });
    expect(newRuleSchema.parse({ ...valid, comparison: '<=' }).comparison).toBe('<=');
    expect(newRuleSchema.parse({ ...valid, devices: ['dev_b', 'dev_a', 'dev_b'] }).devices).toEqual([
      'dev_a',
      'dev_b',
    ]);
  });

  it('rejects bad rules', () => {
    for (const bad of [
      { ...valid, comparison: '=>' },
      { ...valid, field: 'a..b' },
      { ...valid, field: 'a.b.c.d.e' },
      { ...valid, threshold: '30' },
      { ...valid, devices: [] },
      { ...valid, devices: ['x'] },
      { ...valid, devices: Array.from({ length: 101 }, (_, index) => `dev_${index}`) },
      { ...valid, forSeconds: 10, forReadings: 2 },
      { ...valid, forReadings: 0 },
      { ...valid, severity: 'page' },
      { ...valid, extra: 1 },
      { devices: 'all', field: 't', comparison: '>' },
    ]) {
      expect(newRuleSchema.safeParse(bad).success).toBe(false);
    }
    expect(ruleChangeSchema.safeParse({}).success).toBe(false);
    expect(ruleChangeSchema.safeParse({ version: 2 }).success).toBe(false);
    expect(ruleChangeSchema.parse({ name: null, threshold: 1 })).toEqual({ name: null, threshold: 1 });
  });
});
