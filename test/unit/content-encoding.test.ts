import { deflateSync, gzipSync } from 'node:zlib';
import { contentCoding, inflateBody, looksEncoded } from '../../src/lib/http/content-encoding';

const json = Buffer.from(JSON.stringify([{ data: { relative_time: 1, freeform: 'é ✓' } }]));

describe('contentCoding', () => {
  it.each([
    [undefined, undefined],
    ['', undefined],
    ['identity', undefined],
    ['gzip', 'gzip'],
    [' GZip ', 'gzip'],
    ['x-gzip', 'gzip'],
    ['deflate', 'deflate'],
    ['br', 'unsupported'],
    ['compress', 'unsupported'],
    ['gzip, gzip', 'unsupported'],
    ['gzip,identity', 'unsupported'],
    ['zstd', 'unsupported'],
  ])('%p → %p', (header, coding) => {
    expect(contentCoding(header)).toBe(coding);
  });
});

describe('looksEncoded', () => {
  it('recognises gzip and zlib streams, never a JSON text', () => {
    expect(looksEncoded(gzipSync(json), 'gzip')).toBe(true);
    expect(looksEncoded(deflateSync(json), 'deflate')).toBe(true);
    expect(looksEncoded(deflateSync(json, { level: 1 }), 'deflate')).toBe(true);
    for (const text of ['{"data":{}}', '[{"data":{}}]', ' \n{}', '"x"', '8', 'null', 'x'])
      for (const coding of ['gzip', 'deflate'] as const)
        expect(looksEncoded(Buffer.from(text), coding)).toBe(false);
    expect(looksEncoded(Buffer.from([0x1f]), 'gzip')).toBe(false);
  });
});

describe('inflateBody', () => {
  it('decodes gzip (several members too) and deflate to the exact bytes', async () => {
    await expect(inflateBody([gzipSync(json)], 'gzip', 1_000)).resolves.toEqual({ ok: true, body: json });
    const twoMembers = Buffer.concat([gzipSync(json.subarray(0, 10)), gzipSync(json.subarray(10))]);
    await expect(inflateBody([twoMembers], 'gzip', 1_000)).resolves.toEqual({ ok: true, body: json });
    await expect(inflateBody([deflateSync(json)], 'deflate', 1_000)).resolves.toEqual({
      ok: true,
      body: json,
    });
  });

  it('accepts a body of exactly the cap and refuses one byte more', async () => {
    const body = Buffer.alloc(5_000, 'a');
    await expect(inflateBody([gzipSync(body)], 'gzip', 5_000)).resolves.toMatchObject({ ok: true });
    await expect(inflateBody([gzipSync(body)], 'gzip', 4_999)).resolves.toMatchObject({
      ok: false,
      reason: 'too-large',
    });
  });

  it('stops a 1 GB bomb at the cap: the bytes inflated stay within the cap plus one zlib chunk', async () => {
    // 1 GiB of zeros is about 1 MB of gzip, well under API Gateway's 10 MB.
    const bomb = gzipSync(Buffer.alloc(1024 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(1_100_000);
    const result = await inflateBody([bomb], 'gzip', 1_000_000);
    expect(result).toMatchObject({ ok: false, reason: 'too-large' });
    expect(result.ok ? 0 : result.inflated).toBeLessThanOrEqual(1_000_000 + 64 * 1024);
  });

  it('reads a streamed source only as far as needed', async () => {
    const bomb = gzipSync(Buffer.alloc(256 * 1024 * 1024));
    let chunksRead = 0;
    async function* slices() {
      for (let offset = 0; offset < bomb.length; offset += 1024) {
        chunksRead += 1;
        yield bomb.subarray(offset, offset + 1024);
      }
    }
    await expect(inflateBody(slices(), 'gzip', 100_000)).resolves.toMatchObject({ reason: 'too-large' });
    // Read-ahead takes a few chunks beyond the cap, never the whole body.
    expect(chunksRead).toBeLessThan(Math.ceil(bomb.length / 1024) / 2);
  });

  it.each([
    ['not gzip at all', Buffer.from('{"data":{}}'), 'gzip'],
    ['truncated', gzipSync(json).subarray(0, 12), 'gzip'],
    [
      'a flipped byte in the CRC',
      (() => {
        const bytes = Buffer.from(gzipSync(json));
        bytes[bytes.length - 6] = (bytes[bytes.length - 6] ?? 0) ^ 0xff;
        return bytes;
      })(),
      'gzip',
    ],
    ['empty', Buffer.alloc(0), 'gzip'],
    ['gzip declared as deflate', gzipSync(json), 'deflate'],
  ] as const)('reports a corrupt body (%s)', async (_name, bytes, coding) => {
    await expect(inflateBody([bytes], coding, 1_000)).resolves.toMatchObject({
      ok: false,
      reason: 'corrupt',
    });
  });

  it('passes on errors that are not about the coding', async () => {
    async function* failing(): AsyncGenerator<Buffer> {
      yield gzipSync(json).subarray(0, 5);
      throw new Error('connection reset');
    }
    await expect(inflateBody(failing(), 'gzip', 1_000)).rejects.toThrow('connection reset');
  });
});
