import {
  chunkedMessage,
  parseQueuedMessage,
  parseSpilledBody,
  readingsMessageV2,
} from '../../src/lib/readings/messages';
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

describe('queued message versions', () => {
  const reading = (id: number) => ({ id: `b-${id}`, rt: id, it: id, iv: 'AAAA', ct: 'AAAA' });
  const audit = {
    requestId: 'r',
    at: 1,
    actor: 'd',
    route: 'PUT /api/iot',
    deviceId: 'd',
    rows: 2,
    action: 'write' as const,
  };

  it('carries a whole request in one v2 message, per-reading password verifiers and the audit entry', () => {
    const message = readingsMessageV2(
      { deviceId: 'd', batchId: 'b', arrivedAt: 1, keyId: 'k' },
      [reading(0), { ...reading(1), pv: 'verifier' }],
      audit,
    );
    const parsed = parseQueuedMessage(JSON.stringify(message));
    expect(parsed).toEqual({
      kind: 'batch',
      batch: {
        deviceId: 'd',
        batchId: 'b',
        seq: 0,
        arrivedAt: 1,
        keyId: 'k',
        chunks: [],
        readings: [reading(0), { ...reading(1), pv: 'verifier' }],
        audit,
      },
    });
  });

  const chunk = { part: 0, lo: 5, hi: 7, n: 2, ix: 'AAQC', iv: 'AAAA', ct: 'AAAA' };

  it('carries a whole request in one v3 message of chunks, with its latest reading and the audit entry', () => {
    const latest = { t: 1, rt: 7, id: 'b-1' };
    const message = chunkedMessage(
      { deviceId: 'd', batchId: 'b', arrivedAt: 1, keyId: 'k', latest },
      [chunk],
      audit,
    );
    expect(parseQueuedMessage(JSON.stringify(message))).toEqual({
      kind: 'batch',
      batch: {
        deviceId: 'd',
        batchId: 'b',
        seq: 0,
        arrivedAt: 1,
        keyId: 'k',
        chunks: [chunk],
        readings: [],
        latest,
        audit,
      },
    });
  });

  it('still reads v1 messages (e.g. redriven from the dead-letter queue): the verifier applies to every row', () => {
    const v1 = {
      v: 1,
      deviceId: 'd',
      batchId: 'b',
      seq: 3,
      arrivedAt: 1,
      keyId: 'k',
      verifierId: 'pv',
      readings: [reading(0)],
    };
    const parsed = parseQueuedMessage(JSON.stringify(v1));
    expect(parsed.kind === 'batch' && parsed.batch.seq).toBe(3);
    expect(parsed.kind === 'batch' && parsed.batch.readings).toEqual([{ ...reading(0), pv: 'pv' }]);
  });

  it('recognises a spilled pointer and checks the stored message names the same device and batch', () => {
    const pointer = {
      v: 2 as const,
      deviceId: 'd',
      batchId: 'b',
      arrivedAt: 1,
      spilled: { key: 'readings/x/b.json', bytes: 10, sha256: 'A'.repeat(43) },
    };
    expect(parseQueuedMessage(JSON.stringify(pointer))).toEqual({ kind: 'spilled', pointer });
    const stored = readingsMessageV2({ deviceId: 'other', batchId: 'b', arrivedAt: 1, keyId: 'k' }, [
      reading(0),
    ]);
    expect(() => parseSpilledBody(pointer, JSON.stringify(stored))).toThrow(/does not match/);
  });

  it.each([
    ['not JSON', '{'],
    ['an unknown version', JSON.stringify({ v: 4, deviceId: 'd', batchId: 'b', arrivedAt: 1 })],
    [
      'a v3 message without chunks',
      JSON.stringify({
        v: 3,
        deviceId: 'd',
        batchId: 'b',
        arrivedAt: 1,
        keyId: 'k',
        chunks: [],
        latest: { t: 1, rt: 1, id: 'b-0' },
      }),
    ],
    [
      'a v3 message without its latest reading',
      JSON.stringify({ v: 3, deviceId: 'd', batchId: 'b', arrivedAt: 1, keyId: 'k', chunks: [chunk] }),
    ],
    [
      'no readings',
      JSON.stringify({ v: 2, deviceId: 'd', batchId: 'b', arrivedAt: 1, keyId: 'k', readings: [] }),
    ],
    [
      'a forged pointer hash',
      JSON.stringify({
        v: 2,
        deviceId: 'd',
        batchId: 'b',
        arrivedAt: 1,
        spilled: { key: 'k', bytes: 1, sha256: 'x' },
      }),
    ],
  ])('refuses %s', (_, body) => {
    expect(() => parseQueuedMessage(body)).toThrow();
  });
});
