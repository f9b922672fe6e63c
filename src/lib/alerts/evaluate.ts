// Alert rules on values: the decision, with no I/O (unit-tested on its own). A rule's state per device
// is 'clear' or 'firing'; readings that contradict the state form a streak, and the state flips when
// the streak is long enough: `forReadings` consecutive readings, or readings spanning `forSeconds` of
// reading time. The same hold applies in both directions (to fire and to clear), so a value hovering
// at the threshold does not flip the state on every reading: one alert per transition, never a storm.

export const COMPARISONS = ['>', '>=', '<', '<=', '==', '!='] as const;
export type Comparison = (typeof COMPARISONS)[number];

/** The same comparisons by name, for clients that prefer words to symbols (query strings, YAML). */
export const COMPARISON_NAMES: Record<string, Comparison> = {
  gt: '>',
  gte: '>=',
  lt: '<',
  lte: '<=',
  eq: '==',
  ne: '!=',
};

export type AlertStatus = 'clear' | 'firing';

export interface RuleCondition {
  field: string;
  comparison: Comparison;
  threshold: number;
  /** Exactly one of the two: how long, or how many consecutive readings, before the state flips. */
  forSeconds?: number;
  forReadings?: number;
}

/** Where a reading sits in a device's order: reading time, then its request and position. */
export interface ReadingPosition {
  at: number;
  batchId: string;
  index: number;
}

export interface EvaluationState {
  status: AlertStatus;
  /** Readings in a row that contradict `status`, and the reading time of the first of them. */
  streak: number;
  streakSince?: number;
  /** The last reading evaluated: older ones (late, or a retried request's) are not evaluated again. */
  last?: ReadingPosition;
  /** Which version of the rule the streak was counted under: a changed rule starts a new streak. */
  ruleVersion: number;
}

export interface EvaluatedReading extends ReadingPosition {
  value: number;
}

export interface Transition {
  to: AlertStatus;
  reading: EvaluatedReading;
}

export const initialState = (ruleVersion: number): EvaluationState => ({
  status: 'clear',
  streak: 0,
  ruleVersion,
});

export function compare(value: number, comparison: Comparison, threshold: number): boolean {
  switch (comparison) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '==':
      return value === threshold;
    case '!=':
      return value !== threshold;
  }
}

/** Reading order: time, then (same time) request id and position within the request. */
export function isAfter(reading: ReadingPosition, last: ReadingPosition | undefined): boolean {
  if (!last) return true;
  if (reading.at !== last.at) return reading.at > last.at;
  // Same millisecond: another request's reading counts; the same request's only past its last position.
  return reading.batchId !== last.batchId || reading.index > last.index;
}

export const byReadingOrder = (a: ReadingPosition, b: ReadingPosition): number =>
  a.at - b.at || (a.batchId < b.batchId ? -1 : a.batchId > b.batchId ? 1 : 0) || a.index - b.index;

function holdReached(rule: RuleCondition, streak: number, since: number, at: number): boolean {
  if (rule.forSeconds !== undefined) return at - since >= rule.forSeconds * 1000;
  return streak >= (rule.forReadings ?? 1);
}

/**
 * Runs a device's readings (any order; sorted here) through a rule from `state`. Readings not after
 * `state.last` are skipped, so evaluating the same request twice changes nothing the second time.
 */
export function evaluate(
  rule: RuleCondition & { version: number },
  state: EvaluationState,
  readings: readonly EvaluatedReading[],
): { state: EvaluationState; transitions: Transition[]; evaluated: number } {
  let next: EvaluationState =
    state.ruleVersion === rule.version
      ? { ...state }
      : { status: state.status, streak: 0, last: state.last, ruleVersion: rule.version };
  const transitions: Transition[] = [];
  let evaluated = 0;
  for (const reading of [...readings].sort(byReadingOrder)) {
    if (!isAfter(reading, next.last)) continue;
    evaluated += 1;
    next.last = { at: reading.at, batchId: reading.batchId, index: reading.index };
    const matches = compare(reading.value, rule.comparison, rule.threshold);
    const agrees = matches === (next.status === 'firing');
    if (agrees) {
      next = { ...next, streak: 0, streakSince: undefined };
      continue;
    }
    const since = next.streak === 0 ? reading.at : (next.streakSince ?? reading.at);
    const streak = next.streak + 1;
    if (holdReached(rule, streak, since, reading.at)) {
      const to: AlertStatus = matches ? 'firing' : 'clear';
      transitions.push({ to, reading });
      next = { ...next, status: to, streak: 0, streakSince: undefined };
    } else {
      next = { ...next, streak, streakSince: since };
    }
  }
  return { state: next, transitions, evaluated };
}
