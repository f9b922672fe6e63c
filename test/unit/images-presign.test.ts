import { presignGet, presignPost, presignPut } from '../../src/lib/images/objects';

// s3rver does not check signatures, so what AWS would enforce is asserted on the URLs themselves.
describe('presigned image URLs', () => {
  it('signs Content-Type (and Content-Length when declared) into the PUT, without checksum parameters', async () => {
    const withLength = new URL(await presignPut('uploads/cat.jpg', 'image/jpeg', 1234, 900));
    expect(withLength.searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;content-type;host');
    expect(withLength.searchParams.get('X-Amz-Expires')).toBe('900');
    expect(withLength.pathname).toMatch(/\/uploads\/cat\.jpg$/);
    const url = new URL(await presignPut('uploads/my photo.jpg', 'image/png', undefined, 60));
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('content-type;host');
    for (const found of [withLength, url]) {
      expect([...found.searchParams.keys()].filter((name) => /checksum/i.test(name))).toEqual([]);
    }
  });

  it('puts the size range and the exact type into the POST policy', async () => {
    const post = await presignPost('uploads/cat.jpg', 'image/jpeg', 5_000, 900);
    const policy = JSON.parse(Buffer.from(post.fields.Policy ?? '', 'base64').toString('utf8'));
    expect(policy.conditions).toEqual(
      expect.arrayContaining([
        ['content-length-range', 1, 5_000],
        ['eq', '$Content-Type', 'image/jpeg'],
        { key: 'uploads/cat.jpg' },
      ]),
    );
    expect(post.fields['Content-Type']).toBe('image/jpeg');
  });

  it('serves rejected originals as downloads, never rendered', async () => {
    const url = new URL(
      await presignGet('uploads/x.jpg', 900, { contentType: 'application/octet-stream', attachment: true }),
    );
    expect(url.searchParams.get('response-content-disposition')).toBe('attachment');
    expect(url.searchParams.get('response-content-type')).toBe('application/octet-stream');
    expect(url.searchParams.get('x-amz-checksum-mode')).toBeNull();
  });
});

describe('labeller selection', () => {
  const load = (labeller: string) => {
    const saved = process.env.LABELLER;
    process.env.LABELLER = labeller;
    try {
      let selected: { name: string } | undefined;
      jest.isolateModules(() => {
        selected = require('../../src/lib/images/labellers').labeller;
      });
      return selected?.name;
    } finally {
      process.env.LABELLER = saved;
    }
  };

  it('follows LABELLER', () => {
    expect(load('rekognition')).toBe('rekognition');
    expect(load('local')).toBe('local');
  });
});
