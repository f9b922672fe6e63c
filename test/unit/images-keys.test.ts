import { encodeS3EventKey } from '../../scripts/local/s3-notifications';
import {
  decodePathKey,
  decodeS3EventKey,
  generateUploadId,
  imageKeySchema,
  isValidImageKey,
  originalObjectKey,
  parseUploadObjectKey,
  thumbnailObjectKey,
} from '../../src/lib/images/keys';
import { normaliseSequencer } from '../../src/lib/images/process';
import { orientedSize, planThumbnails } from '../../src/lib/images/thumbnails';

describe('image keys', () => {
  it.each([
    'cat.jpg',
    'IMG_0001.JPG',
    'front door (2)',
    'café ü+1',
    '写真-2025',
    'a'.repeat(200),
    'x=1,y=2@cam~3!',
  ])('accepts %j', (key) => {
    expect(isValidImageKey(key)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['too long', 'a'.repeat(201)],
    ['a slash', 'a/b'],
    ['a percent sign', '100%'],
    ['a query mark', 'what?'],
    ['a hash', 'a#b'],
    ['a backslash', 'a\\b'],
    ['a control character', 'a\nb'],
    ['a leading dot', '.hidden'],
    ['a leading space', ' x'],
    ['a trailing space', 'x '],
    ['dot-dot', '..'],
  ])('rejects a key with %s', (_name, key) => {
    expect(isValidImageKey(key)).toBe(false);
  });

  it('normalises keys to NFC, so composed and decomposed spellings are one key', () => {
    expect(imageKeySchema.parse('cafe\u0301')).toBe('café');
  });

  it('decodes S3 event keys (form-encoded: + is a space, %2B a plus) back to the uploaded key', () => {
    for (const key of [
      'uploads/plain.jpg',
      'uploads/my photo+1.jpg',
      'uploads/naïve café (2)',
      'uploads/a~b*c',
    ]) {
      expect(decodeS3EventKey(encodeS3EventKey(key))).toBe(key);
    }
    expect(decodeS3EventKey('uploads/front+door+caf%C3%A9+%282%29.jpg')).toBe(
      'uploads/front door café (2).jpg',
    );
  });

  it('finds the image key of objects under uploads/ only', () => {
    expect(parseUploadObjectKey('uploads/cat.jpg')).toEqual({ key: 'cat.jpg' });
    expect(parseUploadObjectKey('thumbnails/cat.jpg/x/128.webp')).toBeUndefined();
    expect(parseUploadObjectKey('other/cat.jpg')).toBeUndefined();
  });

  it('gives every claim its own original object, and reads the claim back from the object key', () => {
    const [first, second] = [generateUploadId(), generateUploadId()];
    expect(first).not.toBe(second);
    const objectKey = originalObjectKey('front door (2)', first);
    expect(objectKey).toBe(`uploads/front door (2)/${first}`);
    expect(objectKey).not.toBe(originalObjectKey('front door (2)', second));
    expect(parseUploadObjectKey(objectKey)).toEqual({ key: 'front door (2)', uploadId: first });
    // Anything else below a key is not an upload the processor knows.
    expect(parseUploadObjectKey('uploads/cat.jpg/not-an-id')).toBeUndefined();
    expect(parseUploadObjectKey(`uploads/cat.jpg/${first}/more`)).toBeUndefined();
  });

  it('decodes percent-encoded path keys (API Gateway) and leaves decoded ones (serverless-offline) alone', () => {
    expect(decodePathKey('caf%C3%A9%20%2B1')).toBe('café +1');
    expect(decodePathKey('café +1')).toBe('café +1');
    expect(decodePathKey('bad%E0%A4%A')).toBe('bad%E0%A4%A');
  });

  it('puts thumbnails under the key and a content hash, outside uploads/', () => {
    expect(thumbnailObjectKey('cat.jpg', 'ab'.repeat(32), 512, 'webp')).toBe(
      'thumbnails/cat.jpg/abababababababab/512.webp',
    );
  });

  it('orders S3 sequencers of different lengths by value', () => {
    expect(normaliseSequencer('FF') > normaliseSequencer('0F0')).toBe(true);
    expect(normaliseSequencer('00A') < normaliseSequencer('B')).toBe(true);
    expect(normaliseSequencer('abc')).toBe(normaliseSequencer('0ABC'));
  });
});

describe('thumbnail plan', () => {
  it('scales the long edge to each size, keeping the aspect ratio', () => {
    expect(planThumbnails(4000, 3000, [128, 512, 1024])).toEqual([
      { size: 1024, width: 1024, height: 768 },
      { size: 512, width: 512, height: 384 },
      { size: 128, width: 128, height: 96 },
    ]);
    expect(planThumbnails(1000, 3000, [128, 512])).toEqual([
      { size: 512, width: 171, height: 512 },
      { size: 128, width: 43, height: 128 },
    ]);
  });

  it('never upscales: sizes at or above the image collapse into one at its own size', () => {
    expect(planThumbnails(300, 200, [128, 512, 1024])).toEqual([
      { size: 300, width: 300, height: 200 },
      { size: 128, width: 128, height: 85 },
    ]);
    expect(planThumbnails(512, 512, [128, 512, 1024]).map((plan) => plan.size)).toEqual([512, 128]);
    expect(planThumbnails(50, 20, [128])).toEqual([{ size: 50, width: 50, height: 20 }]);
  });

  it('keeps at least one pixel on the short edge of extreme panoramas', () => {
    expect(planThumbnails(10_000, 10, [128])).toEqual([{ size: 128, width: 128, height: 1 }]);
  });

  it('swaps dimensions for EXIF orientations 5–8', () => {
    expect(orientedSize(800, 400, 6)).toEqual({ width: 400, height: 800 });
    expect(orientedSize(800, 400, 3)).toEqual({ width: 800, height: 400 });
    expect(orientedSize(800, 400, undefined)).toEqual({ width: 800, height: 400 });
  });
});

describe('S3 event records the processor cannot read', () => {
  it('skips a record whose key has malformed percent-encoding instead of failing the whole event', async () => {
    const { processUploadEvent } = await import('../../src/lib/images/process');
    const { labeller } = await import('../../src/lib/images/labellers');
    const record = (key: string, eventName = 'ObjectCreated:Put') =>
      ({ eventName, s3: { object: { key, size: 10, eTag: 'x', sequencer: '01' } } }) as never;
    await expect(
      processUploadEvent(
        {
          Records: [
            record('uploads/bad%E0%A4%A'),
            record('thumbnails/x/1.webp'),
            record('uploads/x', 'ObjectRemoved:Delete'),
          ],
        },
        labeller,
      ),
    ).resolves.toEqual({ records: 3, outcomes: { skipped: 3 } });
  });
});
