import { randomBytes } from 'node:crypto';
import {
  bucketStart,
  CHUNK_MAX_PLAINTEXT_BYTES,
  CHUNK_MAX_ROWS,
  CHUNK_SPAN,
  type ChunkReading,
  chunkSortKey,
  decodeIndex,
  encodeIndex,
  openChunk,
  type SealedChunk,
  sealChunks,
} from '../../src/lib/readings/chunks';
import { decodeRelativeTime } from '../../src/lib/readings/rows';

const key = randomBytes(32);
const header = { deviceId: 'dev', batchId: 'batch', arrivedAt: 1_700_000_000_000 };
const reading = (number: number, relativeTime: number, freeform: unknown = { n: number }): ChunkReading => ({
  number,
  relativeTime,
  interrogatorTime: 1_600_000_000_000_000 + number,
  freeform,
});

/** A stored chunk's fields as the consumer writes them. */
const stored = (chunk: SealedChunk) => ({
  deviceId: header.deviceId,
  sk: chunkSortKey(chunk.lo, header.batchId, chunk.part),
  at: header.arrivedAt,
  ...(chunk.pv ? { pv: chunk.pv } : {}),
  ix: Buffer.from(chunk.ix, 'base64'),
  iv: Buffer.from(chunk.iv, 'base64'),
  ct: Buffer.from(chunk.ct, 'base64'),
});

const openAll = (chunk: SealedChunk) => {
  const item = stored(chunk);
  return openChunk(key, item, decodeIndex(decodeRelativeTime(item.sk), item.ix, chunk.n));
};

describe('chunk index', () => {
  it.each([
    [[0, 1, 2]],
    [[-5, -5, 3, 9_007_199_254_740_991 - 10, 9_007_199_254_740_991]],
    [[-9_007_199_254_740_991, -9_007_199_254_740_990]],
  ])('round-trips relative times %p exactly', (times) => {
    const rows = times.map((rt, number) => ({ rt, number: number * 7 }));
    expect(decodeIndex(times[0] as number, encodeIndex(times[0] as number, rows), rows.length)).toEqual(rows);
  });

  it('refuses an index with bytes missing or left over', () => {
    const index = encodeIndex(0, [{ rt: 300, number: 1 }]);
    expect(() => decodeIndex(0, index.subarray(0, index.length - 1), 1)).toThrow(/malformed/);
    expect(() => decodeIndex(0, Buffer.concat([index, Buffer.from([1])]), 1)).toThrow(/malformed/);
    expect(() => decodeIndex(0, Buffer.alloc(20, 0xff), 1)).toThrow(/malformed/);
  });
});

describe('sealChunks', () => {
  it('puts one reading in one chunk that opens to it', () => {
    const chunks = sealChunks(key, header, [reading(0, 42, { 'ü<b>': '🎉', deep: [1, { x: null }] })], 0);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]).toMatchObject({ part: 0, lo: 42, hi: 42, n: 1 });
    expect(openAll(chunks[0] as SealedChunk)).toEqual([
      expect.objectContaining({ rt: 42, number: 0, freeform: { 'ü<b>': '🎉', deep: [1, { x: null }] } }),
    ]);
  });

  it('keeps 1,000 readings of one bucket in one chunk, in relative-time order, ids stable', () => {
    const readings = Array.from({ length: CHUNK_MAX_ROWS }, (_, number) =>
      reading(number, (number * 7919) % 1000),
    );
    const chunks = sealChunks(key, header, readings, 0);
    expect(chunks).toHaveLength(1);
    const rows = openAll(chunks[0] as SealedChunk);
    expect(rows.map((row) => row.rt)).toEqual([...rows.map((row) => row.rt)].sort((a, b) => a - b));
    expect(new Set(rows.map((row) => row.number)).size).toBe(CHUNK_MAX_ROWS);
    for (const row of rows) expect(row.freeform).toEqual({ n: row.number });
  });

  it('splits at bucket edges: the last unit of a bucket and the first of the next are different chunks', () => {
    const edge = 5 * CHUNK_SPAN;
    const chunks = sealChunks(
      key,
      header,
      [
        reading(0, edge - 1),
        reading(1, edge),
        reading(2, edge + CHUNK_SPAN - 1),
        reading(3, -1),
        reading(4, 0),
      ],
      3,
    );
    expect(chunks.map(({ part, lo, hi, n }) => ({ part, lo, hi, n }))).toEqual([
      { part: 3, lo: -1, hi: -1, n: 1 },
      { part: 4, lo: 0, hi: 0, n: 1 },
      { part: 5, lo: edge - 1, hi: edge - 1, n: 1 },
      { part: 6, lo: edge, hi: edge + CHUNK_SPAN - 1, n: 2 },
    ]);
    for (const chunk of chunks) expect(bucketStart(chunk.lo)).toBe(bucketStart(chunk.hi));
  });

  it('splits big readings to stay far inside the 400 KB item, even when they do not compress', () => {
    const big = (number: number) => reading(number, number, { blob: randomBytes(6_000).toString('base64') });
    const chunks = sealChunks(
      key,
      header,
      Array.from({ length: 100 }, (_, number) => big(number)),
      0,
    );
    expect(chunks.length).toBeGreaterThan(2);
    for (const chunk of chunks) {
      const item = stored(chunk);
      expect(item.ct.length + item.ix.length).toBeLessThan(CHUNK_MAX_PLAINTEXT_BYTES + 1024);
    }
    expect(chunks.reduce((sum, chunk) => sum + chunk.n, 0)).toBe(100);
  });

  it('compresses repetitive readings', () => {
    const readings = Array.from({ length: 100 }, (_, number) =>
      reading(number, number, { rssi: -50 - (number % 7), temperature: 21.5, antenna: 1, tag: 'E200-3412' }),
    );
    const [chunk] = sealChunks(key, header, readings, 0);
    expect(Buffer.from(chunk?.ct as string, 'base64').length).toBeLessThan(
      JSON.stringify(readings).length / 3,
    );
  });
});

describe('openChunk refuses a chunk that was changed or moved', () => {
  const [chunk] = sealChunks(key, header, [reading(0, 10), reading(1, 20)], 0, 'verifier');
  const item = stored(chunk as SealedChunk);
  const index = () => decodeIndex(decodeRelativeTime(item.sk), item.ix, 2);

  it('opens as stored', () => {
    expect(openChunk(key, item, index()).map((row) => row.rt)).toEqual([10, 20]);
  });

  it.each([
    ['another device', { deviceId: 'other' }],
    ['another key (moved)', { sk: chunkSortKey(10, 'other', 0) }],
    ['another arrival time', { at: header.arrivedAt + 1 }],
    ['no password verifier', { pv: undefined }],
    [
      'an edited index',
      {
        ix: encodeIndex(10, [
          { rt: 10, number: 0 },
          { rt: 21, number: 1 },
        ]),
      },
    ],
    ['a flipped ciphertext byte', { ct: Buffer.from(item.ct).fill(1, 0, 1) }],
  ])('%s', (_, change) => {
    expect(() => openChunk(key, { ...item, ...change }, index())).toThrow();
  });

  it('the wrong key', () => {
    expect(() => openChunk(randomBytes(32), item, index())).toThrow();
  });
});
