import { MAX_MESSAGE_BYTES, packMessages } from '../../src/lib/readings/messages';
import { absoluteTimestamp, encodeRelativeTime, relativeTimeRange } from '../../src/lib/readings/rows';

describe('sortable relative time', () => {
  it('orders as strings exactly as the numbers order, negatives included', () => {
    const values = [
      -(2 ** 53) + 1,
      -(2 ** 53) + 2,
      -1_000_000,
      -2,
      -1,
      0,
      1,
      99,
      100,
      101,
      1_000_000_000_000,
      2 ** 53 - 2,
      2 ** 53 - 1,
    ];
    const encoded = values.map(encodeRelativeTime);
    expect([...encoded].sort()).toEqual(encoded);
    expect(new Set(encoded).size).toBe(values.length);
    expect(new Set(encoded.map((value) => value.length))).toEqual(new Set([17]));
  });

  it('makes an inclusive range', () => {
    const { from, to } = relativeTimeRange(100, 150);
    expect(`${encodeRelativeTime(100)}#id` >= from).toBe(true);
    expect(`${encodeRelativeTime(150)}#zzz` <= to).toBe(true);
    expect(`${encodeRelativeTime(151)}#a` > to).toBe(true);
    expect(`${encodeRelativeTime(99)}#~` < from).toBe(true);
  });

  it('formats absolute timestamps as the original (UTC, seconds)', () => {
    expect(absoluteTimestamp(Date.UTC(2020, 0, 2, 3, 4, 5, 678))).toBe('2020-01-02 03:04:05');
  });
});

describe('packMessages', () => {
  const header = { v: 1 as const, deviceId: 'd', batchId: 'b', arrivedAt: 1, keyId: 'k' };
  const reading = (id: number, size: number) => ({
    id: `b-${id}`,
    rt: id,
    it: id,
    iv: 'AAAA',
    ct: 'A'.repeat(size),
  });

  it('keeps small requests in one message carrying the audit entry', () => {
    const audit = {
      requestId: 'r',
      at: 1,
      actor: 'd',
      route: 'PUT /api/iot',
      deviceId: 'd',
      rows: 3,
      action: 'write' as const,
    };
    const messages = packMessages(header, [reading(0, 10), reading(1, 10), reading(2, 10)], audit);
    expect(messages).toHaveLength(1);
    expect(messages[0]?.audit).toEqual(audit);
  });

  it('splits by size, in order, with the audit entry only in the first message', () => {
    const readings = Array.from({ length: 40 }, (_, index) => reading(index, 20_000));
    const audit = {
      requestId: 'r',
      at: 1,
      actor: 'd',
      route: 'r',
      deviceId: 'd',
      rows: 40,
      action: 'write' as const,
    };
    const messages = packMessages(header, readings, audit);
    expect(messages.length).toBeGreaterThan(1);
    for (const message of messages)
      expect(Buffer.byteLength(JSON.stringify(message))).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    expect(messages.flatMap((message) => message.readings.map((r) => r.id))).toEqual(
      readings.map((r) => r.id),
    );
    expect(messages.map((message) => message.seq)).toEqual(messages.map((_, index) => index));
    expect(messages.filter((message) => message.audit)).toHaveLength(1);
  });
});
