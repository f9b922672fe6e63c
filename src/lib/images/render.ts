import { createHash } from 'node:crypto';
import sharp, { type Metadata } from 'sharp';
import { exifCaptureTime } from './exif';
import type { PixelSample } from './labeller';
import { orientedSize, planThumbnails } from './thumbnails';

// Every image is different: libvips' operation cache would only hold memory between invocations.
sharp.cache(false);

export type RejectionCode =
  | 'empty'
  | 'too-large'
  | 'not-an-image'
  | 'unsupported-format'
  | 'too-many-pixels'
  | 'corrupt';

export interface Rejection {
  code: RejectionCode;
  message: string;
}

export type ThumbnailFormat = 'webp' | 'jpeg';

export interface RenderedThumbnail {
  size: number;
  width: number;
  height: number;
  format: ThumbnailFormat;
  body: Buffer;
}

export interface RenderedImage {
  format: string;
  contentType: string;
  /** After auto-orientation. */
  width: number;
  height: number;
  animated: boolean;
  hasAlpha: boolean;
  capturedAt?: string;
  thumbnails: RenderedThumbnail[];
  /** The largest JPEG thumbnail (what Rekognition is shown). */
  preview: Buffer;
  sample: PixelSample;
}

export type RenderResult =
  | { status: 'ready'; image: RenderedImage }
  | { status: 'rejected'; rejection: Rejection };

export interface RenderOptions {
  maxBytes: number;
  maxPixels: number;
  sizes: readonly number[];
}

// What the processor accepts, by the format sharp reads from the bytes (never the name or header).
// HEIF only with AV1 (AVIF): the prebuilt libvips cannot decode HEVC.
const CONTENT_TYPES: Record<string, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  tiff: 'image/tiff',
  avif: 'image/avif',
};

const SAMPLE_EDGE = 64;
const WEBP_QUALITY = 80;
// Effort 2 of 6: half the encoding time of the default for thumbnails a few percent larger.
const WEBP_EFFORT = 2;
const JPEG_QUALITY = 80;

export const sha256Hex = (body: Buffer): string => createHash('sha256').update(body).digest('hex');

const reject = (code: RejectionCode, message: string): RenderResult => ({
  status: 'rejected',
  rejection: { code, message },
});

function classify(error: unknown, phase: 'header' | 'pixels'): RenderResult {
  const message = (error as Error).message ?? '';
  if (/pixel limit/i.test(message)) return reject('too-many-pixels', 'The image has too many pixels');
  if (phase === 'header' && /unsupported image format/i.test(message))
    return reject('not-an-image', 'The file is not an image in a supported format');
  return reject('corrupt', 'The image data is corrupt or truncated');
}

/**
 * Validates an upload from its bytes and renders its thumbnails. Never throws for bad input: every
 * problem with the file is a rejection with a reason.
 */
export async function renderImage(body: Buffer, options: RenderOptions): Promise<RenderResult> {
  if (body.length === 0) return reject('empty', 'The file is empty');
  if (body.length > options.maxBytes)
    return reject('too-large', `The file is larger than ${options.maxBytes} bytes`);

  // failOn 'warning' is sharp's advice for untrusted input; limitInputPixels makes sharp refuse a
  // pixel bomb from its header, before decoding anything.
  const input = { failOn: 'warning', limitInputPixels: options.maxPixels } as const;
  let metadata: Metadata;
  try {
    metadata = await sharp(body, input).metadata();
  } catch (error) {
    return classify(error, 'header');
  }
  const format = metadata.format === 'heif' && metadata.compression === 'av1' ? 'avif' : metadata.format;
  const contentType = CONTENT_TYPES[format];
  if (!contentType) return reject('unsupported-format', `Images in ${format} format are not supported`);
  const rawWidth = metadata.width;
  const rawHeight = metadata.pageHeight ?? metadata.height;
  if (!rawWidth || !rawHeight) return reject('corrupt', 'The image has no dimensions');
  if (rawWidth * rawHeight > options.maxPixels)
    return reject('too-many-pixels', 'The image has too many pixels');

  const { width, height } = orientedSize(rawWidth, rawHeight, metadata.orientation);
  const plan = planThumbnails(width, height, options.sizes);
  const largest = plan[0];
  if (!largest) return reject('corrupt', 'The image has no dimensions');
  const hasAlpha = metadata.hasAlpha;
  const channels = hasAlpha ? 4 : 3;

  try {
    // Decode once (JPEG shrink-on-load makes this cheap) into the largest thumbnail's pixels; every
    // output is made from that. Metadata is not carried over: outputs have no EXIF, GPS or ICC.
    const base = sharp(body, input)
      .autoOrient()
      .resize(largest.width, largest.height, { fit: 'fill' })
      .toColourspace('srgb');
    const master = await (hasAlpha ? base.ensureAlpha() : base.removeAlpha())
      .raw()
      .toBuffer({ resolveWithObject: true });
    const raw = { raw: { width: master.info.width, height: master.info.height, channels } } as const;

    const thumbnails: RenderedThumbnail[] = [];
    for (const size of plan) {
      const resized = () => sharp(master.data, raw).resize(size.width, size.height, { fit: 'fill' });
      const [webp, jpeg] = await Promise.all([
        resized().webp({ quality: WEBP_QUALITY, effort: WEBP_EFFORT }).toBuffer(),
        resized().flatten({ background: '#ffffff' }).jpeg({ quality: JPEG_QUALITY }).toBuffer(),
      ]);
      thumbnails.push({ ...size, format: 'webp', body: webp }, { ...size, format: 'jpeg', body: jpeg });
    }
    const sample = await sharp(master.data, raw)
      .resize(SAMPLE_EDGE, SAMPLE_EDGE, { fit: 'inside', withoutEnlargement: true })
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const preview = thumbnails.find((thumbnail) => thumbnail.format === 'jpeg')?.body ?? Buffer.alloc(0);
    return {
      status: 'ready',
      image: {
        format,
        contentType,
        width,
        height,
        animated: (metadata.pages ?? 1) > 1,
        hasAlpha,
        capturedAt: exifCaptureTime(metadata.exif),
        thumbnails,
        preview,
        sample: { data: sample.data, width: sample.info.width, height: sample.info.height, channels: 4 },
      },
    };
  } catch (error) {
    return classify(error, 'pixels');
  }
}
