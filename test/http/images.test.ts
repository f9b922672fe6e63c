import sharp from 'sharp';
import { adminToken, api } from '../support/api';
import { registerTestDevice, type TestDevice } from '../support/devices';
import { bucket, jpeg, labelRowsOf, listKeys, png, uniqueKey } from '../support/images';
import { eventually } from '../support/sqs';

interface Ticket {
  key: string;
  method: 'PUT';
  uploadUrl: string;
  headers: Record<string, string>;
  expiresIn: number;
  maxBytes: number;
  form: { url: string; fields: Record<string, string> };
}

interface Details {
  key: string;
  owner: string;
  status: 'pending' | 'ready' | 'rejected';
  processedAt?: string;
  rejection?: { code: string; message: string };
  width?: number;
  height?: number;
  format?: string;
  labels: Array<{ name: string; confidence: number }>;
  original?: { url: string };
  thumbnails: Array<{ size: number; width: number; height: number; format: string; url: string }>;
}

const path = (key: string) => `/api/images/${encodeURIComponent(key)}`;

async function processed(key: string, token: string): Promise<Details> {
  return eventually(
    async () => {
      const response = await api<Details>('GET', path(key), { token });
      if (response.status !== 200 || response.body.status === 'pending')
        throw new Error(`${key}: ${response.status} ${response.text}`);
      return response.body;
    },
    { timeoutMs: 20_000 },
  );
}

async function download(url: string): Promise<Buffer> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  return Buffer.from(await response.arrayBuffer());
}

/** Asks for an upload ticket for exactly these bytes. */
const ticketFor = (token: string, body: Buffer, contentType: string, key?: string) =>
  api<Ticket>('POST', '/api/images', {
    token,
    body: { ...(key === undefined ? {} : { key }), contentType, contentLength: body.length },
  });

const uploadWith = (ticket: Ticket, body: Buffer) =>
  fetch(ticket.uploadUrl, { method: 'PUT', headers: ticket.headers, body });

/** The object a presigned URL writes (path-style: /<bucket>/<object key>). */
const objectKeyOf = (url: string) => decodeURIComponent(new URL(url).pathname).slice(`/${bucket()}/`.length);

/**
 * Waits until the processor has dealt with an upload through `ticket` that arrived after `before` was
 * processed: refused (its object deleted) or, had it been accepted, processed into a new version.
 */
async function lateUploadHandled(key: string, token: string, ticket: Ticket, before: Details) {
  return eventually(
    async () => {
      const current = await api<Details>('GET', path(key), { token });
      const objects = await listKeys(`uploads/${key}`);
      if (objects.includes(objectKeyOf(ticket.uploadUrl)) && current.body.processedAt === before.processedAt)
        throw new Error(`${key}: the late upload is not handled yet`);
      return current.body;
    },
    { timeoutMs: 20_000 },
  );
}

const putBinary = (key: string, body: Buffer, token: string, contentType = 'application/octet-stream') =>
  api<{ key: string; status: string }>('PUT', path(key), {
    token,
    rawBody: body,
    headers: { 'content-type': contentType },
  });

describe('images over HTTP (upload → thumbnails → metadata → label search → delete)', () => {
  let camera: TestDevice;
  let other: TestDevice;

  beforeAll(async () => {
    [camera, other] = await Promise.all([registerTestDevice('camera'), registerTestDevice('other')]);
  });

  it('presigned PUT upload: thumbnails appear in S3, metadata and labels come back, search finds it, delete removes all', async () => {
    const body = await jpeg(2000, 1500, { main: '#d02020', accent: '#2040d0' });
    const created = await ticketFor(camera.token, body, 'image/jpeg');
    expect(created.status).toBe(201);
    const ticket = created.body;
    expect(ticket).toMatchObject({
      key: expect.stringMatching(/^[0-9a-f-]{36}$/),
      method: 'PUT',
      headers: { 'content-type': 'image/jpeg', 'content-length': String(body.length) },
      expiresIn: 900,
      maxBytes: expect.any(Number),
    });
    // Type and size are part of the signature (AWS refuses others; the emulator does not check).
    expect(new URL(ticket.uploadUrl).searchParams.get('X-Amz-SignedHeaders')).toBe(
      'content-length;content-type;host',
    );
    expect(ticket.uploadUrl).not.toContain('x-amz-checksum');
    // The claim's own object, under the key.
    expect(objectKeyOf(ticket.uploadUrl)).toMatch(new RegExp(`^uploads/${ticket.key}/[0-9a-f-]{36}$`));

    const upload = await uploadWith(ticket, body);
    expect(upload.status).toBe(200);

    // Processing time is a benchmark figure (npm run bench), not asserted here.
    const image = await processed(ticket.key, camera.token);
    expect(image).toMatchObject({
      key: ticket.key,
      owner: `device:${camera.deviceId}`,
      status: 'ready',
      format: 'jpeg',
      width: 2000,
      height: 1500,
    });
    const labels = image.labels.map((label) => label.name);
    expect(labels).toEqual(expect.arrayContaining(['red', 'landscape', 'medium']));
    expect(image.thumbnails.map(({ size, width, height, format }) => [size, width, height, format])).toEqual([
      [1024, 1024, 768, 'webp'],
      [1024, 1024, 768, 'jpeg'],
      [512, 512, 384, 'webp'],
      [512, 512, 384, 'jpeg'],
      [128, 128, 96, 'webp'],
      [128, 128, 96, 'jpeg'],
    ]);
    for (const thumbnail of image.thumbnails) {
      const metadata = await sharp(await download(thumbnail.url)).metadata();
      expect([metadata.format, metadata.width, metadata.height]).toEqual([
        thumbnail.format,
        thumbnail.width,
        thumbnail.height,
      ]);
    }
    expect((await download(image.original?.url ?? '')).equals(body)).toBe(true);

    const search = await api<{ data: Array<{ key: string; label: string }> }>(
      'GET',
      '/api/images?label=RED',
      {
        token: camera.token,
      },
    );
    expect(search.status).toBe(200);
    expect(search.body.data.map((match) => match.key)).toContain(ticket.key);
    const adminSearch = await api<{ data: Array<{ key: string }> }>(
      'GET',
      '/api/images?label=red&limit=200',
      {
        token: adminToken(),
      },
    );
    expect(adminSearch.body.data.map((match) => match.key)).toContain(ticket.key);

    const removed = await api('DELETE', path(ticket.key), { token: camera.token });
    expect(removed.status).toBe(200);
    expect(removed.body).toEqual({ key: ticket.key, deleted: true });
    const gone = await api('GET', path(ticket.key), { token: camera.token });
    expect(gone.status).toBe(404);
    expect(gone.body).toEqual({ error: { code: 'NotFound', message: expect.any(String) } });
    expect(await listKeys(`thumbnails/${ticket.key}/`)).toEqual([]);
    expect(await listKeys(`uploads/${ticket.key}`)).toEqual([]);
    expect(await labelRowsOf(ticket.key, labels)).toEqual([]);
    const after = await api<{ data: Array<{ key: string }> }>('GET', '/api/images?label=red', {
      token: camera.token,
    });
    expect(after.body.data.map((match) => match.key)).not.toContain(ticket.key);
  });

  it('PUT upload with a chosen key containing spaces and unicode', async () => {
    const key = `Garden gate - ${Date.now()} (nuit) café ü+1`;
    const response = await putBinary(key, await png(640, 480, { main: '#20a040' }), camera.token);
    expect(response.status).toBe(202);
    expect(response.body).toEqual({ key, status: 'pending' });
    const image = await processed(key, camera.token);
    expect(image).toMatchObject({ key, status: 'ready', format: 'png', width: 640, height: 480 });
    expect(image.labels.map((label) => label.name)).toContain('green');
    expect(await listKeys(`thumbnails/${key}/`)).toHaveLength(6);
  });

  it('presigned POST form upload (S3 enforces size and type from the policy in AWS)', async () => {
    const key = uniqueKey('form');
    const square = await png(300, 300);
    const created = await ticketFor(camera.token, square, 'image/png', key);
    expect(created.status).toBe(201);
    const { url, fields } = created.body.form;
    const policy = JSON.parse(Buffer.from(fields.Policy ?? '', 'base64').toString('utf8'));
    expect(policy.conditions).toEqual(
      expect.arrayContaining([
        ['content-length-range', square.length, square.length],
        ['eq', '$Content-Type', 'image/png'],
        { key: objectKeyOf(created.body.uploadUrl) },
      ]),
    );
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    form.append('file', new Blob([square]), 'square.png');
    const upload = await fetch(url, { method: 'POST', body: form });
    expect([200, 204]).toContain(upload.status);
    const image = await processed(key, camera.token);
    expect(image.labels.map((label) => label.name)).toContain('square');
  });

  it('bad input is rejected with a reason, no thumbnails, its original deleted, and the API says so', async () => {
    const key = `${uniqueKey('x')}.jpg`;
    expect((await putBinary(key, Buffer.from('plain text, not a JPEG'), camera.token)).status).toBe(202);
    const image = await processed(key, camera.token);
    expect(image).toMatchObject({
      status: 'rejected',
      rejection: { code: 'not-an-image', message: expect.any(String) },
      thumbnails: [],
      labels: [],
    });
    expect(image.original).toBeUndefined();
    expect(await listKeys(`thumbnails/${key}/`)).toEqual([]);
    // Deleted right after the record is written.
    await eventually(async () => expect(await listKeys(`uploads/${key}`)).toEqual([]));
  });

  it('an original larger than MAX_UPLOAD_BYTES (sent past its signed size) is rejected and deleted', async () => {
    const key = uniqueKey('oversize');
    const declared = await png(64, 64);
    const created = await ticketFor(camera.token, declared, 'image/png', key);
    expect(created.status).toBe(201);
    // AWS would refuse this PUT (Content-Length is signed); the emulator does not, so the processor's
    // own limit is what is tested here.
    const oversize = Buffer.concat([declared, Buffer.alloc(created.body.maxBytes, 7)]);
    const upload = await fetch(created.body.uploadUrl, {
      method: 'PUT',
      headers: { 'content-type': 'image/png' },
      body: oversize,
    });
    expect(upload.status).toBe(200);
    const image = await processed(key, camera.token);
    expect(image).toMatchObject({
      status: 'rejected',
      rejection: { code: 'too-large', message: expect.any(String) },
      thumbnails: [],
    });
    expect(image.original).toBeUndefined();
    // Deleted right after the record is written.
    await eventually(async () => expect(await listKeys(`uploads/${key}`)).toEqual([]));
  });

  it('a stale presigned URL (key deleted, then claimed by another device) cannot replace the new owner’s image', async () => {
    const key = uniqueKey('reclaimed');
    const stale = await jpeg(400, 300, { main: '#d02020', accent: '#d02020' });
    const first = await ticketFor(camera.token, stale, 'image/jpeg', key);
    expect(first.status).toBe(201);
    expect((await api('DELETE', path(key), { token: camera.token })).status).toBe(200);

    const theirs = await png(300, 300, { main: '#2040d0', accent: '#2040d0' });
    const second = await ticketFor(other.token, theirs, 'image/png', key);
    expect(second.status).toBe(201);
    expect((await uploadWith(second.body, theirs)).status).toBe(200);
    const before = await processed(key, other.token);
    expect(before).toMatchObject({ owner: `device:${other.deviceId}`, status: 'ready', format: 'png' });

    // The first URL has not expired: S3 (and the emulator) accept the PUT. The processor refuses the
    // object of a claim that is no longer current and deletes it.
    expect((await uploadWith(first.body, stale)).status).toBe(200);
    const after = await lateUploadHandled(key, other.token, first.body, before);
    const { original: _o1, thumbnails: _t1, ...described } = before;
    const { original: _o2, thumbnails: _t2, ...still } = after;
    expect(still).toEqual(described);
    expect(after.labels.map((label) => label.name)).toContain('blue');
    expect((await download(after.original?.url ?? '')).equals(theirs)).toBe(true);
    expect((await api('GET', path(key), { token: camera.token })).status).toBe(404);
    // Each claim wrote its own object; only the current claim's is left.
    expect(await listKeys(`uploads/${key}`)).toEqual([objectKeyOf(second.body.uploadUrl)]);
  });

  it('only the newest ticket of a key may write it: the owner’s older URL goes stale', async () => {
    const key = uniqueKey('reticket');
    const older = await png(200, 100, { main: '#d02020', accent: '#d02020' });
    const newer = await png(100, 200, { main: '#20a040', accent: '#20a040' });
    const first = await ticketFor(camera.token, older, 'image/png', key);
    const second = await ticketFor(camera.token, newer, 'image/png', key);
    expect([first.status, second.status]).toEqual([201, 201]);
    expect((await uploadWith(second.body, newer)).status).toBe(200);
    const current = await processed(key, camera.token);
    expect(current.labels.map((label) => label.name)).toContain('green');
    expect((await uploadWith(first.body, older)).status).toBe(200);
    const after = await lateUploadHandled(key, camera.token, first.body, current);
    expect(after.labels).toEqual(current.labels);
    expect(after.processedAt).toBe(current.processedAt);
    expect((await download(after.original?.url ?? '')).equals(newer)).toBe(true);
    expect(await listKeys(`uploads/${key}`)).toEqual([objectKeyOf(second.body.uploadUrl)]);
  });

  it('validates input with clear 4xx JSON errors', async () => {
    const cases: Array<[string, string, { body?: unknown; rawBody?: Buffer }, number, string]> = [
      ['POST', '/api/images', { body: { contentType: 'text/html', contentLength: 10 } }, 400, 'contentType'],
      [
        'POST',
        '/api/images',
        { body: { contentType: 'image/png', contentLength: 10, key: 'a/b' } },
        400,
        'key',
      ],
      [
        'POST',
        '/api/images',
        { body: { contentType: 'image/png', contentLength: 10, key: 'x'.repeat(201) } },
        400,
        'key',
      ],
      [
        'POST',
        '/api/images',
        { body: { contentType: 'image/png', contentLength: 10, extra: 1 } },
        400,
        'extra',
      ],
      // Without a declared size the PUT URL could write up to 5 GB.
      ['POST', '/api/images', { body: { contentType: 'image/png' } }, 400, 'contentLength'],
      [
        'POST',
        '/api/images',
        { body: { contentType: 'image/png', contentLength: 1e12 } },
        400,
        'contentLength',
      ],
      ['GET', '/api/images?limit=0', {}, 400, 'limit'],
      ['GET', '/api/images?cursor=bm9wZQ', {}, 400, 'cursor'],
      ['GET', `/api/images/${encodeURIComponent('bad?key')}`, {}, 400, 'key'],
    ];
    for (const [method, url, options, status, field] of cases) {
      const response = await api<{ error: { code: string; message: string } }>(method, url, {
        token: camera.token,
        ...options,
      });
      expect([url, response.status]).toEqual([url, status]);
      expect(response.body.error.message).toContain(field);
    }
    const empty = await api('PUT', path(uniqueKey('empty')), {
      token: camera.token,
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(empty.status).toBe(400);
    const tooBig = await putBinary(uniqueKey('big'), Buffer.alloc(4_194_305, 1), camera.token);
    expect(tooBig.status).toBe(400);
    expect(tooBig.body).toMatchObject({ error: { code: 'PayloadTooLarge' } });
  });

  it('keeps images to their owner: other devices get 404/409, the admin sees everything', async () => {
    const key = uniqueKey('private');
    expect((await putBinary(key, await png(100, 100), camera.token)).status).toBe(202);
    await processed(key, camera.token);
    expect((await api('GET', path(key), { token: other.token })).status).toBe(404);
    expect((await api('DELETE', path(key), { token: other.token })).status).toBe(404);
    const stolen = await putBinary(key, await png(100, 100), other.token);
    expect(stolen.status).toBe(409);
    const claim = await api('POST', '/api/images', {
      token: other.token,
      body: { key, contentType: 'image/png', contentLength: 100 },
    });
    expect(claim.status).toBe(409);
    const theirs = await api<{ data: Array<{ key: string }> }>('GET', '/api/images?limit=200', {
      token: other.token,
    });
    expect(theirs.body.data.map((item) => item.key)).not.toContain(key);
    const admin = await api<Details>('GET', path(key), { token: adminToken() });
    expect(admin.status).toBe(200);
    expect(admin.body.owner).toBe(`device:${camera.deviceId}`);
    expect((await api('GET', '/api/images')).status).toBe(401);
  });

  it('lists keys in pages; an unknown label is an empty list, an unknown key a JSON 404', async () => {
    const device = await registerTestDevice('pager');
    const keys = ['page-a', 'page-b', 'page-c'].map((name) => uniqueKey(name));
    for (const key of keys) expect((await putBinary(key, await png(40, 40), device.token)).status).toBe(202);
    const first = await api<{ data: Array<{ key: string; status: string }>; next?: string }>(
      'GET',
      '/api/images?limit=2',
      { token: device.token },
    );
    expect(first.status).toBe(200);
    expect(first.body.data).toHaveLength(2);
    expect(first.body.next).toEqual(expect.any(String));
    const second = await api<{ data: Array<{ key: string }>; next?: string }>(
      'GET',
      `/api/images?limit=2&cursor=${first.body.next}`,
      { token: device.token },
    );
    expect(second.body.data).toHaveLength(1);
    expect(second.body.next).toBeUndefined();
    expect([...first.body.data, ...second.body.data].map((item) => item.key).sort()).toEqual(
      [...keys].sort(),
    );

    const unknown = await api('GET', '/api/images?label=no-such-label-anywhere', { token: device.token });
    expect(unknown.status).toBe(200);
    expect(unknown.body).toEqual({ data: [] });
    const missing = await api('GET', path('never-uploaded'), { token: device.token });
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: { code: 'NotFound', message: expect.any(String) } });
  });
});
