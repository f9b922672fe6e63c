import { randomBytes } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { arrivalsBetween } from '../../src/lib/readings/activity';
import { api, apiUrl } from '../support/api';
import { registerTestDevice, type TestDevice } from '../support/devices';
import { eventually } from '../support/sqs';
import { incompressibleText } from '../support/text';

// Issue 11, items 3, 4 and 5, over HTTP through the local stack: what a 202 promises (stored exactly
// once, retries included, whatever the request's size) and what a page promises (complete, within
// Lambda's 6 MB answer).

type Row = { id: string; relative_timestamp: number; freeform: unknown };
type Page = { data: Row[]; next?: string; hidden?: number; error?: { code: string } };

/** Lambda refuses to return more than 6 MB; API Gateway then answers 502 (offline does not enforce it). */
const LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024;

const put = (device: TestDevice, body: unknown, headers: Record<string, string> = {}) =>
  api<{ ids: string[]; error?: { code: string; message: string } }>('PUT', '/api/iot', {
    token: device.token,
    body,
    headers,
  });

async function allPages(
  device: TestDevice,
  path = '/api/iot',
): Promise<{ rows: Row[]; pages: number; maxBytes: number }> {
  const rows: Row[] = [];
  let next: string | undefined;
  let pages = 0;
  let maxBytes = 0;
  do {
    const response = await api<Page>('POST', `${path}${next ? `?cursor=${next}` : ''}`, {
      token: device.token,
    });
    expect(response.status).toBe(200);
    maxBytes = Math.max(maxBytes, Buffer.byteLength(response.text));
    rows.push(...response.body.data);
    next = response.body.next;
    pages += 1;
  } while (next);
  return { rows, pages, maxBytes };
}

describe('a retried request with the same Idempotency-Key (item 3)', () => {
  it('is stored once: seconds/{n} answers each reading once and the arrival log counts it once', async () => {
    const device = await registerTestDevice();
    const body = [1, 2, 3].map((n) => ({ data: { relative_time: n, freeform: { n } } }));
    const key = { 'idempotency-key': `retry-${randomBytes(6).toString('hex')}` };
    const first = await put(device, body, key);
    const retry = await put(device, body, key);
    expect([first.status, retry.status]).toEqual([202, 202]);
    expect(retry.body.ids).toEqual(first.body.ids);
    const recent = await eventually(async () => {
      const response = await api<Page>('POST', '/api/iot/seconds/300', { token: device.token });
      expect(response.status).toBe(200);
      expect(response.body.data).toHaveLength(3);
      return response.body.data;
    });
    expect(recent.map((row) => row.id).sort()).toEqual([...first.body.ids].sort());
    // What the stats rollup counts: readings per arrival entry.
    const { arrivals } = await arrivalsBetween(device.deviceId, 0, Date.now() + 1);
    expect(arrivals.reduce((sum, arrival) => sum + arrival.readings, 0)).toBe(3);
  });

  it('refuses the same key with a different request (422), storing nothing of the second', async () => {
    const device = await registerTestDevice();
    const key = { 'idempotency-key': `reuse-${randomBytes(6).toString('hex')}` };
    expect((await put(device, { data: { relative_time: 1 } }, key)).status).toBe(202);
    const reused = await put(device, [{ data: { relative_time: 1 } }, { data: { relative_time: 2 } }], key);
    expect(reused.status).toBe(422);
    expect(reused.body.error?.code).toBe('ValidationError');
    await eventually(async () => expect((await allPages(device)).rows).toHaveLength(1));
  });
});

describe('the default page within Lambda’s 6 MB response (item 4)', () => {
  it('pages 400 readings of 16 KB (6.4 MB in all) by bytes, each reading exactly once', async () => {
    const device = await registerTestDevice();
    const freeform = 'f'.repeat(16_000);
    const ids: string[] = [];
    for (let batch = 0; batch < 8; batch += 1) {
      const response = await put(
        device,
        Array.from({ length: 50 }, (_, index) => ({ data: { relative_time: batch * 50 + index, freeform } })),
      );
      expect(response.status).toBe(202);
      ids.push(...response.body.ids);
    }
    const result = await eventually(
      async () => {
        const pages = await allPages(device);
        expect(pages.rows).toHaveLength(400);
        return pages;
      },
      { timeoutMs: 90_000, intervalMs: 1_000 },
    );
    expect(result.maxBytes).toBeLessThanOrEqual(LAMBDA_RESPONSE_LIMIT);
    expect(result.pages).toBeGreaterThan(1);
    expect(result.rows.map((row) => row.id).sort()).toEqual([...ids].sort());
  }, 150_000);
});

describe('a request whose sealed form exceeds SQS’s 1 MiB (item 5)', () => {
  it('is accepted whole as one message (spilled to the ingest bucket) and stored whole, sealed', async () => {
    const device = await registerTestDevice();
    const marker = `SPILL-${randomBytes(6).toString('hex')}`;
    // Readings are compressed before they are queued: only a body close to MAX_BODY_BYTES (1 MB) of
    // incompressible text stays over 1 MiB once sealed (deflate saves ~17 % of it, base64 adds 33 %).
    const freeforms = Array.from({ length: 400 }, () => `${marker}${incompressibleText(2_430)}`);
    const readings = freeforms.map((freeform, index) => ({ data: { relative_time: index, freeform } }));
    const response = await put(device, readings);
    expect({ status: response.status, text: response.status === 202 ? '' : response.text }).toEqual({
      status: 202,
      text: '',
    });
    expect(response.body.ids).toHaveLength(400);
    await eventually(
      async () => {
        const { rows } = await allPages(device);
        expect(rows).toHaveLength(400);
        expect(new Set(rows.map((row) => row.freeform))).toEqual(new Set(freeforms));
      },
      { timeoutMs: 90_000, intervalMs: 1_000 },
    );
    // The spilled copy is there, and holds only sealed readings.
    const s3 = new S3Client({ forcePathStyle: true });
    const bucket = process.env.INGEST_BUCKET as string;
    const { Contents = [] } = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: 'readings/' }),
    );
    expect(Contents.length).toBeGreaterThan(0);
    for (const object of Contents) {
      const stored = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key }));
      expect(await stored.Body?.transformToString()).not.toContain(marker);
    }
    s3.destroy();
  }, 120_000);
});

describe('API Gateway’s 10 MB request limit, which the local gateway applies as AWS does', () => {
  it.each([
    ['with a Content-Length', false],
    ['streamed without one (chunked)', true],
  ])(
    'answers a body over 10 MB %s with 413 in the API’s error shape, storing nothing',
    async (_, chunked) => {
      const device = await registerTestDevice();
      const body = Buffer.alloc(10 * 1024 * 1024 + 1, 0x20);
      const response = await fetch(`${apiUrl()}/api/iot`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${device.token}`, 'content-type': 'application/json' },
        body: chunked ? new Blob([body]).stream() : body,
        ...(chunked ? { duplex: 'half' } : {}),
      } as RequestInit);
      expect(response.status).toBe(413);
      expect(await response.json()).toEqual({
        error: { code: 'PayloadTooLarge', message: 'Request too large' },
      });
      expect((await allPages(device)).rows).toEqual([]);
    },
  );
});
