import { presignGet, presignPost, presignPut } from '../../src/lib/images/objects';
import { uploadRequest } from '../../src/lib/images/schemas';

// s3rver does not check signatures, so what AWS would enforce is asserted on the URLs themselves.
describe('presigned image URLs', () => {
  it('signs Content-Type and Content-Length into the PUT, without checksum parameters', async () => {
    const url = new URL(await presignPut('uploads/my photo.jpg/id-1', 'image/png', 1234, 900));
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;content-type;host');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('900');
    expect(url.pathname).toMatch(/\/uploads\/my%20photo\.jpg\/id-1$/);
    expect([...url.searchParams.keys()].filter((name) => /checksum/i.test(name))).toEqual([]);
  });

  it('puts the exact declared size, the exact type and the claim’s own key into the POST policy', async () => {
    const post = await presignPost('uploads/cat.jpg/id-1', 'image/jpeg', 5_000, 900);
    const policy = JSON.parse(Buffer.from(post.fields.Policy ?? '', 'base64').toString('utf8'));
    expect(policy.conditions).toEqual(
      expect.arrayContaining([
        ['content-length-range', 5_000, 5_000],
        ['eq', '$Content-Type', 'image/jpeg'],
        { key: 'uploads/cat.jpg/id-1' },
      ]),
    );
    expect(post.fields['Content-Type']).toBe('image/jpeg');
  });

  it('refuses an upload request that does not declare its size (a PUT URL without it could write 5 GB)', () => {
    expect(uploadRequest.safeParse({ contentType: 'image/png' }).success).toBe(false);
    expect(uploadRequest.safeParse({ contentType: 'image/png', contentLength: 0 }).success).toBe(false);
    expect(uploadRequest.safeParse({ contentType: 'image/png', contentLength: 1.5 }).success).toBe(false);
    expect(uploadRequest.parse({ contentType: 'image/png', contentLength: 10 })).toEqual({
      contentType: 'image/png',
      contentLength: 10,
    });
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
