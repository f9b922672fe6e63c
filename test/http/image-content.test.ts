import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { adminToken, api, apiUrl } from '../support/api';
import { registerTestDevice, type TestDevice } from '../support/devices';
import { png, uniqueKey } from '../support/images';
import { runJob } from '../support/jobs';
import { eventually } from '../support/sqs';

// GET /api/images/{key}/content through the local stack: binary bytes, the container's cache
// (hits, misses, settings picked up within seconds, clear) and the rollup of its counters.

const contentPath = (key: string, size: string | number) =>
  `/api/images/${encodeURIComponent(key)}/content?size=${size}`;

async function content(key: string, size: string | number, token: string) {
  const response = await fetch(`${apiUrl()}${contentPath(key, size)}`, {
    headers: { authorization: `Bearer ${token}`, accept: 'image/*' },
  });
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    cache: response.headers.get('x-cache'),
    bytes: Buffer.from(await response.arrayBuffer()),
  };
}

async function ready(key: string, token: string): Promise<void> {
  await eventually(
    async () => {
      const response = await api<{ status: string }>('GET', `/api/images/${encodeURIComponent(key)}`, {
        token,
      });
      if (response.body.status !== 'ready') throw new Error(`${key}: ${response.text}`);
    },
    { timeoutMs: 30_000 },
  );
}

const upload = (key: string, body: Buffer, token: string) =>
  api('PUT', `/api/images/${encodeURIComponent(key)}`, {
    token,
    rawBody: body,
    headers: { 'content-type': 'application/octet-stream' },
  });

const setCache = (settings: { capacityMb: number; policy: 'lru' | 'random' }) =>
  api('PUT', '/api/image-cache', { token: adminToken(), body: settings });

// Settings reach a container within IMAGE_CACHE_SETTINGS_REFRESH_SECONDS (3 s by default).
const settingsRefresh = () => new Promise((resolve) => setTimeout(resolve, 3_500));

describe('image content through the in-memory cache', () => {
  let camera: TestDevice;
  let other: TestDevice;
  let original: Buffer;
  const key = uniqueKey('cached picture');

  beforeAll(async () => {
    [camera, other] = await Promise.all([
      registerTestDevice('cache camera'),
      registerTestDevice('cache other'),
    ]);
    original = await png(800, 600);
    expect((await upload(key, original, camera.token)).status).toBe(202);
    await ready(key, camera.token);
    expect((await setCache({ capacityMb: 64, policy: 'lru' })).status).toBe(200);
    await settingsRefresh();
  }, 90_000);

  it('serves a thumbnail as binary WebP of the asked size, a miss then a hit', async () => {
    const first = await content(key, 128, camera.token);
    expect(first).toMatchObject({ status: 200, type: 'image/webp' });
    const metadata = await sharp(first.bytes).metadata();
    expect({ format: metadata.format, width: metadata.width }).toEqual({ format: 'webp', width: 128 });
    const second = await content(key, 128, camera.token);
    expect(second.cache).toBe('hit');
    expect(second.bytes.equals(first.bytes)).toBe(true);
  });

  it('serves the original byte for byte', async () => {
    const response = await content(key, 'original', camera.token);
    expect(response).toMatchObject({ status: 200, type: 'image/png' });
    expect(response.bytes.equals(original)).toBe(true);
  });

  it('answers bad input and other callers with JSON errors', async () => {
    const bad = await api('GET', `${contentPath(key, 'huge')}`, { token: camera.token });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toMatch(/^application\/json/);
    expect((await api('GET', contentPath(key, 128), { token: other.token })).status).toBe(404);
    expect((await api('GET', contentPath(uniqueKey('missing'), 128), { token: camera.token })).status).toBe(
      404,
    );
  });

  it('refuses an original above the Lambda response limit with a clear 413', async () => {
    const bigKey = uniqueKey('too big to serve');
    // Noise does not compress: a PNG of 1300×1300 RGB noise is over 4 MiB.
    const noise = await sharp(randomBytes(1300 * 1300 * 3), {
      raw: { width: 1300, height: 1300, channels: 3 },
    })
      .png({ compressionLevel: 0 })
      .toBuffer();
    expect(noise.length).toBeGreaterThan(4 * 1024 * 1024);
    const ticket = await api<{ uploadUrl: string; headers: Record<string, string> }>('POST', '/api/images', {
      token: camera.token,
      body: { key: bigKey, contentType: 'image/png', contentLength: noise.length },
    });
    expect(ticket.status).toBe(201);
    const stored = await fetch(ticket.body.uploadUrl, {
      method: 'PUT',
      headers: ticket.body.headers,
      body: noise,
    });
    expect(stored.status).toBe(200);
    await ready(bigKey, camera.token);
    const refused = await api<{ error: { code: string; message: string } }>(
      'GET',
      contentPath(bigKey, 'original'),
      {
        token: camera.token,
      },
    );
    expect(refused.status).toBe(413);
    expect(refused.body.error).toMatchObject({
      code: 'ContentTooLarge',
      message: expect.stringMatching(/presigned URL/),
    });
    // Its thumbnails are small and served.
    expect((await content(bigKey, 512, camera.token)).status).toBe(200);
  }, 60_000);

  it('validates settings and keeps them for the admin only', async () => {
    for (const body of [
      { capacityMb: -1, policy: 'lru' },
      { capacityMb: 10, policy: 'fifo' },
      { capacityMb: 1.5, policy: 'lru' },
    ]) {
      const response = await api('PUT', '/api/image-cache', { token: adminToken(), body });
      expect(response.status).toBe(400);
    }
    expect(
      (await api('PUT', '/api/image-cache', { token: camera.token, body: { capacityMb: 1, policy: 'lru' } }))
        .status,
    ).toBe(403);
    const settings = await api<{ capacityMb: number; policy: string }>('GET', '/api/image-cache', {
      token: adminToken(),
    });
    expect(settings.body).toMatchObject({ capacityMb: 64, policy: 'lru' });
  });

  it('picks up new settings and a clear within seconds, and the rollup counts hits and misses', async () => {
    // Capacity 0: nothing is kept, every request misses.
    await setCache({ capacityMb: 0, policy: 'random' });
    await settingsRefresh();
    await content(key, 512, camera.token);
    expect((await content(key, 512, camera.token)).cache).toBe('miss');

    await setCache({ capacityMb: 64, policy: 'lru' });
    await settingsRefresh();
    await content(key, 512, camera.token);
    expect((await content(key, 512, camera.token)).cache).toBe('hit');

    expect((await api('POST', '/api/image-cache/clear', { token: adminToken() })).status).toBe(200);
    await settingsRefresh();
    expect((await content(key, 512, camera.token)).cache).toBe('miss');

    // Counters are written every IMAGE_CACHE_FLUSH_SECONDS (2 s): one more request after that.
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    await content(key, 512, camera.token);
    // The steps above may straddle a minute boundary: the two intervals that hold them, added up.
    const end = Math.ceil(Date.now() / 60_000) * 60_000;
    const totals = { cacheHits: 0, cacheMisses: 0, cacheItems: 0 };
    for (const intervalEnd of [end - 60_000, end]) {
      const { global } = await runJob<{ global: Record<string, number> }>('rollup-stats', {
        intervalEnd: new Date(intervalEnd).toISOString(),
      });
      totals.cacheHits += global.cacheHits ?? 0;
      totals.cacheMisses += global.cacheMisses ?? 0;
      totals.cacheItems = Math.max(totals.cacheItems, global.cacheItems ?? 0);
    }
    expect(totals.cacheHits).toBeGreaterThan(0);
    expect(totals.cacheMisses).toBeGreaterThan(0);
    expect(totals.cacheItems).toBeGreaterThan(0);
  }, 60_000);
});
