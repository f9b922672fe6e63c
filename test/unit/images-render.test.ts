import sharp from 'sharp';
import { renderImage } from '../../src/lib/images/render';
import { cameraJpeg, jpeg, picture, pixelBomb, png, svg, truncatedJpeg } from '../support/images';

const options = { maxBytes: 5_000_000, maxPixels: 40_000_000, sizes: [128, 512, 1024] };

async function ready(body: Buffer) {
  const result = await renderImage(body, options);
  if (result.status !== 'ready') throw new Error(`rejected: ${result.rejection.code}`);
  return result.image;
}

describe('renderImage', () => {
  it('makes WebP and JPEG thumbnails at each long edge, of exactly the planned dimensions', async () => {
    const image = await ready(await jpeg(1600, 900));
    expect(image).toMatchObject({ format: 'jpeg', contentType: 'image/jpeg', width: 1600, height: 900 });
    const summary = image.thumbnails.map(({ size, width, height, format }) => [size, width, height, format]);
    expect(summary).toEqual([
      [1024, 1024, 576, 'webp'],
      [1024, 1024, 576, 'jpeg'],
      [512, 512, 288, 'webp'],
      [512, 512, 288, 'jpeg'],
      [128, 128, 72, 'webp'],
      [128, 128, 72, 'jpeg'],
    ]);
    for (const thumbnail of image.thumbnails) {
      const metadata = await sharp(thumbnail.body).metadata();
      expect([metadata.format, metadata.width, metadata.height]).toEqual([
        thumbnail.format,
        thumbnail.width,
        thumbnail.height,
      ]);
    }
  });

  it('never upscales: a small image gets its own size instead of the larger ones', async () => {
    const image = await ready(await png(300, 200));
    expect([...new Set(image.thumbnails.map((thumbnail) => thumbnail.size))]).toEqual([300, 128]);
    expect(image.thumbnails[0]).toMatchObject({ width: 300, height: 200 });
  });

  it('auto-orients from EXIF, reads the capture time and strips all metadata from outputs', async () => {
    const image = await ready(await cameraJpeg(800, 400));
    // Stored 800×400 with orientation 6: displayed 400×800.
    expect([image.width, image.height]).toEqual([400, 800]);
    expect(image.capturedAt).toBe('2025-06-01T12:34:56+02:00');
    const largest = image.thumbnails[0];
    expect(largest).toMatchObject({ size: 800, width: 400, height: 800 });
    for (const thumbnail of image.thumbnails) {
      const metadata = await sharp(thumbnail.body).metadata();
      expect(metadata.exif).toBeUndefined();
      expect(metadata.icc).toBeUndefined();
      expect(metadata.orientation).toBeUndefined();
    }
    // The top-left accent block of the stored image is at the top-right after a 90° rotation.
    const { data, info } = await sharp(image.preview).raw().toBuffer({ resolveWithObject: true });
    const at = (x: number, y: number) => {
      const offset = (y * info.width + x) * info.channels;
      return [data[offset], data[offset + 1], data[offset + 2]] as number[];
    };
    const [red, , blue] = at(info.width - 5, 5);
    expect(blue).toBeGreaterThan(red ?? 0);
  });

  it('keeps transparency in WebP and flattens it onto white in JPEG', async () => {
    const body = await picture(200, 200, { alpha: 0.5 }).png().toBuffer();
    const image = await ready(body);
    expect(image.hasAlpha).toBe(true);
    const webp = image.thumbnails.find((thumbnail) => thumbnail.format === 'webp');
    const jpg = image.thumbnails.find((thumbnail) => thumbnail.format === 'jpeg');
    expect((await sharp(webp?.body).metadata()).hasAlpha).toBe(true);
    expect((await sharp(jpg?.body).metadata()).hasAlpha).toBe(false);
  });

  it('decides the format from the bytes, not the name: WebP, GIF, TIFF and AVIF are accepted', async () => {
    const base = picture(64, 48);
    for (const [format, body] of [
      ['webp', await base.clone().webp().toBuffer()],
      ['gif', await base.clone().gif().toBuffer()],
      ['tiff', await base.clone().tiff().toBuffer()],
      ['avif', await base.clone().avif().toBuffer()],
    ] as const) {
      const image = await ready(body);
      expect(image.format).toBe(format);
      // 64 px long edge: one size (its own), in WebP and JPEG.
      expect(image.thumbnails.map((thumbnail) => thumbnail.size)).toEqual([64, 64]);
    }
  });

  it.each([
    ['a zero-byte file', async () => Buffer.alloc(0), 'empty'],
    ['a text file (whatever its name)', async () => Buffer.from('hello, not a JPEG\n'), 'not-an-image'],
    ['a truncated JPEG', truncatedJpeg, 'corrupt'],
    ['an SVG', async () => svg(), 'unsupported-format'],
    ['a PNG of 48 MP (decompression bomb)', pixelBomb, 'too-many-pixels'],
  ])('rejects %s with a reason and renders nothing', async (_name, make, code) => {
    const result = await renderImage(await make(), { ...options, maxBytes: 50_000_000 });
    expect(result).toEqual({ status: 'rejected', rejection: { code, message: expect.any(String) } });
  });

  it('rejects a file above the byte limit before looking at it', async () => {
    const result = await renderImage(await jpeg(100, 100), { ...options, maxBytes: 10 });
    expect(result).toMatchObject({ status: 'rejected', rejection: { code: 'too-large' } });
  });

  it('rejects the bomb from its header alone, without decoding it', async () => {
    // Only the first 2 KB: the header is whole, the pixel data cut off. Had the pixels been decoded,
    // the answer would be 'corrupt'.
    const header = (await pixelBomb()).subarray(0, 2_048);
    const result = await renderImage(header, options);
    expect(result).toMatchObject({ status: 'rejected', rejection: { code: 'too-many-pixels' } });
    const withinLimit = await renderImage(header, { ...options, maxPixels: 100_000_000 });
    expect(withinLimit).toMatchObject({ status: 'rejected', rejection: { code: 'corrupt' } });
  });
});
