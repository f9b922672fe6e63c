import { randomBytes } from 'node:crypto';
import { deflateSync, gzipSync } from 'node:zlib';
import { config } from '../../src/lib/config';
import { api } from '../support/api';
import { registerTestDevice, type TestDevice } from '../support/devices';
import { eventually } from '../support/sqs';

// Content-Encoding on the ingest routes, through the local gateway (which decodes like API Gateway:
// the function gets the decoded body with the header still set) and serverless offline.

type Row = { id: string; relative_timestamp: number; interrogator_timestamp: number; freeform: unknown };
type Answer = { success?: string; ids?: string[]; error?: { code: string; message: string } };

const send = (
  device: TestDevice,
  bytes: Buffer,
  encoding: string | undefined,
  path = '/api/iot',
  method = 'PUT',
) =>
  api<Answer>(method, path, {
    token: device.token,
    rawBody: bytes,
    headers: { 'content-type': 'application/json', ...(encoding ? { 'content-encoding': encoding } : {}) },
  });

const text = (body: unknown) => Buffer.from(JSON.stringify(body));

async function rowsOf(device: TestDevice, count: number, path = '/api/iot'): Promise<Row[]> {
  return eventually(async () => {
    const response = await api<{ data: Row[] }>('POST', path, { token: device.token });
    expect(response.status).toBe(200);
    expect(response.body.data).toHaveLength(count);
    return response.body.data;
  });
}

const reading = (i: number) => ({
  data: {
    relative_time: i,
    interrogator_time: String(1_395_139_159_123_456 + i),
    freeform: { i, note: 'é ✓ 🌡' },
  },
});

describe('compressed ingest bodies', () => {
  it('stores a gzip single reading and a gzip list, read back exactly', async () => {
    const device = await registerTestDevice();
    const single = await send(device, gzipSync(text(reading(1))), 'gzip');
    expect(single.status).toBe(202);
    expect(single.body.success).toBe('1 object(s) accepted');
    const list = await send(device, gzipSync(text([reading(2), reading(3), reading(4)])), 'gzip');
    expect(list.status).toBe(202);
    expect(list.body.ids).toHaveLength(3);
    const rows = await rowsOf(device, 4);
    expect(rows.map((row) => [row.relative_timestamp, row.interrogator_timestamp, row.freeform])).toEqual(
      [1, 2, 3, 4].map((i) => [i, 1_395_139_159_123_456 + i, { i, note: 'é ✓ 🌡' }]),
    );
  });

  it('takes deflate and x-gzip too, on /api/rssi and the POST …/readings form', async () => {
    const device = await registerTestDevice();
    expect((await send(device, deflateSync(text([reading(1)])), 'deflate', '/api/rssi')).status).toBe(202);
    expect(
      (await send(device, gzipSync(text(reading(2))), 'x-gzip', '/api/rssi/readings', 'POST')).status,
    ).toBe(202);
    expect((await send(device, text(reading(3)), 'identity', '/api/rssi')).status).toBe(202);
    const rows = await rowsOf(device, 3, '/api/rssi');
    expect(rows.map((row) => row.relative_timestamp).sort()).toEqual([1, 2, 3]);
  });

  it('leaves the original client format unchanged: no encoding, same rows', async () => {
    const device = await registerTestDevice();
    const plain = await send(device, text([reading(1), reading(2)]), undefined);
    expect(plain.status).toBe(202);
    const rows = await rowsOf(device, 2);
    expect(rows.map((row) => row.freeform)).toEqual([reading(1).data.freeform, reading(2).data.freeform]);
  });

  it('applies every limit to the decoded body: readings per request, nesting, freeform size', async () => {
    const device = await registerTestDevice();
    const tooMany = Array.from({ length: 1_001 }, (_, i) => reading(i));
    const many = await send(device, gzipSync(text(tooMany)), 'gzip');
    expect(many.status).toBe(400);
    expect(many.body.error?.message).toMatch(/more than 1000 readings/);
    const deep = `{"data":{"freeform":${'['.repeat(100)}${']'.repeat(100)}}}`;
    const nested = await send(device, gzipSync(Buffer.from(deep)), 'gzip');
    expect(nested.status).toBe(400);
    expect(nested.body.error?.message).toMatch(/nested deeper than 64 levels/);
    const big = await send(device, gzipSync(text({ data: { freeform: 'x'.repeat(20_000) } })), 'gzip');
    expect(big.status).toBe(400);
    expect(big.body.error?.message).toMatch(/freeform: is 20002 bytes of JSON; the limit is 16384/);
    // Nothing of the refused requests was stored.
    const stored = await api<{ data: Row[] }>('POST', '/api/iot', { token: device.token });
    expect(stored.body.data).toEqual([]);
  });

  it('answers a body over MAX_BODY_BYTES once decoded with 413, though it is small on the wire', async () => {
    const device = await registerTestDevice();
    const limit = config.MAX_BODY_BYTES;
    // A megabyte over the limit (and under the gateway's 10 MB) compresses to a few KB.
    const body = text({ data: { freeform: '', pad: ' '.repeat(limit + 1_000_000) } });
    const compressed = gzipSync(body);
    expect(compressed.length).toBeLessThan(20_000);
    const response = await send(device, compressed, 'gzip');
    expect(response.status).toBe(413);
    expect(response.body.error).toEqual({
      code: 'PayloadTooLarge',
      message: `Request body is over ${limit} bytes once decoded; the limit is ${limit}`,
    });
    // Exactly at the limit once decoded: past the size check (refused for its content, not its size).
    const atLimit = text({ data: { freeform: '' }, pad: '' });
    const padded = Buffer.concat([
      atLimit.subarray(0, -3),
      Buffer.alloc(limit - atLimit.length, ' '),
      atLimit.subarray(-3),
    ]);
    expect(padded.length).toBe(limit);
    const accepted = await send(device, gzipSync(padded), 'gzip');
    expect(accepted.body.error?.code).not.toBe('PayloadTooLarge');
  });

  it('answers decompression bombs with 413 JSON: 10 MB and 1 GB of zeros', async () => {
    const device = await registerTestDevice();
    // Each decodes past the gateway's 10 MB cap, where decoding stops (~10 KB and ~1 MB on the wire).
    for (const size of [10 * 1024 * 1024 + 1, 1024 * 1024 * 1024]) {
      const bomb = gzipSync(Buffer.alloc(size));
      const response = await send(device, bomb, 'gzip');
      expect(response.status).toBe(413);
      expect(response.body.error?.code).toBe('PayloadTooLarge');
    }
    // The stack still answers normally afterwards.
    expect((await send(device, gzipSync(text(reading(1))), 'gzip')).status).toBe(202);
  });

  it('counts API Gateway’s 10 MB against the compressed bytes on the wire', async () => {
    const device = await registerTestDevice();
    // Random bytes do not compress: over 10 MB on the wire → 413 before anything is decoded.
    const incompressible = gzipSync(randomBytes(10 * 1024 * 1024 + 100), { level: 0 });
    const response = await send(device, incompressible, 'gzip');
    expect(response.status).toBe(413);
    expect(response.body.error?.code).toBe('PayloadTooLarge');
  });

  it.each([
    ['br', gzipSync(text(reading(1))), 'br'],
    ['gzip applied twice in the header', gzipSync(gzipSync(text(reading(1)))), 'gzip, gzip'],
    ['compress', text(reading(1)), 'compress'],
    ['a plain body labelled gzip', text(reading(1)), 'gzip'],
    ['a truncated gzip body', gzipSync(text([reading(1), reading(2)])).subarray(0, 30), 'gzip'],
    ['gzip labelled deflate', gzipSync(text(reading(1))), 'deflate'],
  ])('refuses %s with 415 JSON and stores nothing', async (_name, bytes, encoding) => {
    const device = await registerTestDevice();
    const response = await send(device, bytes, encoding);
    expect(response.status).toBe(415);
    expect(response.body.error?.code).toBe('UnsupportedMediaType');
    const stored = await api<{ data: Row[] }>('POST', '/api/iot', { token: device.token });
    expect(stored.body.data).toEqual([]);
  });

  it('still checks who is calling', async () => {
    const response = await api<Answer>('PUT', '/api/iot', {
      rawBody: gzipSync(text(reading(1))),
      headers: {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        authorization: 'Bearer nope',
      },
    });
    expect(response.status).toBe(401);
    expect(response.body.error?.code).toBe('Unauthorized');
  });
});
