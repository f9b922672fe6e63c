import { clockTimeMs, measureClock } from '../../src/lib/readings/clock-skew';

const arrival = Date.UTC(2026, 10, 30, 12, 0, 0);
const micros = (ms: number) => ms * 1000;

describe('clockTimeMs', () => {
  it('takes epoch microseconds from 2000 on, far future included; unset clocks and counters are no time', () => {
    expect(clockTimeMs(micros(arrival) + 999)).toBe(arrival);
    expect(clockTimeMs(micros(Date.UTC(2000, 0, 1)))).toBe(Date.UTC(2000, 0, 1));
    expect(clockTimeMs(micros(arrival + 86_400_000 * 365))).toBe(arrival + 86_400_000 * 365);
    for (const notATime of [-1, 0, 123_456, micros(Date.UTC(1999, 11, 31, 23, 59, 59))])
      expect(clockTimeMs(notATime)).toBeUndefined();
  });
});

describe('measureClock', () => {
  it('flags readings outside arrival ± window (the bound itself is inside), both directions', () => {
    const times = [
      micros(arrival),
      micros(arrival + 300_000), // exactly +window: inside
      micros(arrival + 300_001),
      micros(arrival - 300_000),
      micros(arrival - 300_001),
      -1, // no clock: never flagged
    ];
    expect(measureClock(times, arrival, 300)).toEqual({
      outside: [
        { index: 2, offsetMs: 300_001 },
        { index: 4, offsetMs: -300_001 },
      ],
      offsetMs: 300_001,
    });
  });

  it('measures the offset from the newest reading, so a buffered backlog is not a slow clock', () => {
    const backlog = [3_600_000, 1_800_000, 2_000].map((ago) => micros(arrival - ago));
    const measured = measureClock(backlog, arrival, 300);
    expect(measured.offsetMs).toBe(-2_000);
    expect(measured.outside.map(({ index }) => index)).toEqual([0, 1]);
  });

  it('has no offset when no reading carries a time', () => {
    expect(measureClock([-1, 5, 0], arrival, 300)).toEqual({ outside: [], offsetMs: undefined });
  });

  it('a per-device window replaces the default one', () => {
    const hourAhead = [micros(arrival + 3_600_000)];
    expect(measureClock(hourAhead, arrival, 300).outside).toHaveLength(1);
    expect(measureClock(hourAhead, arrival, 3_600).outside).toHaveLength(0);
  });
});
