import { randomUUID } from 'node:crypto';
import * as z from 'zod';

// Image keys name an image in the API path (/api/images/{key}) and in S3. They are one path segment:
// letters and digits of any script, spaces and a few punctuation marks, but no '/', '%', '?', '#', '\'
// or control characters, so a key is the same string in a URL, an S3 key and a DynamoDB key.
export const MAX_KEY_LENGTH = 200;
const KEY_PATTERN = /^[\p{L}\p{M}\p{N}][\p{L}\p{M}\p{N} ._~()+,!@=-]*$/u;

export const imageKeySchema = z
  .string()
  .transform((key) => key.normalize('NFC'))
  .pipe(
    z
      .string()
      .min(1, 'must not be empty')
      .max(MAX_KEY_LENGTH, `at most ${MAX_KEY_LENGTH} characters`)
      .regex(
        KEY_PATTERN,
        'letters, digits, spaces and . _ ~ ( ) + , ! @ = - only, starting with a letter or digit',
      )
      .refine((key) => !key.endsWith(' '), 'must not end with a space'),
  );

export const isValidImageKey = (key: string): boolean => imageKeySchema.safeParse(key).success;

export const generateImageKey = (): string => randomUUID();

export const UPLOAD_PREFIX = 'uploads/';
export const THUMBNAIL_PREFIX = 'thumbnails/';

/**
 * Every claim of a key (an upload ticket or a PUT through the API) gets its own upload id and its
 * own object, `uploads/<key>/<uploadId>`: a URL issued for one claim can never write another claim's
 * object, and the processor accepts only the object of the record's current claim.
 */
export const generateUploadId = (): string => randomUUID();
const UPLOAD_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const originalObjectKey = (key: string, uploadId: string): string =>
  `${UPLOAD_PREFIX}${key}/${uploadId}`;

/** Every original ever uploaded for a key lives under this prefix (keys contain no '/'). */
export const uploadPrefix = (key: string): string => `${UPLOAD_PREFIX}${key}/`;

/** An operator's object put straight at `uploads/<key>`, outside any claim. */
export const operatorObjectKey = (key: string): string => `${UPLOAD_PREFIX}${key}`;

/** Every thumbnail of an image lives under this prefix (keys contain no '/', so it is exact). */
export const thumbnailPrefix = (key: string): string => `${THUMBNAIL_PREFIX}${key}/`;

/**
 * A thumbnail's object key carries a prefix of the original's sha256: a re-upload with new content
 * writes new objects instead of overwriting ones a reader (or a late, stale event) may still use.
 */
export const thumbnailObjectKey = (key: string, sha256: string, size: number, extension: string): string =>
  `${thumbnailPrefix(key)}${sha256.slice(0, 16)}/${size}.${extension}`;

/** S3 notifications URL-encode keys form-style: spaces arrive as '+', a literal '+' as %2B. */
export function decodeS3EventKey(encoded: string): string {
  return decodeURIComponent(encoded.replace(/\+/g, ' '));
}

/**
 * The image key (and upload id) of an object under uploads/: `uploads/<key>/<uploadId>` from a claim,
 * `uploads/<key>` from an operator; undefined for anything else.
 */
export function parseUploadObjectKey(objectKey: string): { key: string; uploadId?: string } | undefined {
  if (!objectKey.startsWith(UPLOAD_PREFIX)) return undefined;
  const [key, uploadId, ...rest] = objectKey.slice(UPLOAD_PREFIX.length).split('/');
  if (key === undefined || rest.length > 0) return undefined;
  if (uploadId === undefined) return { key };
  return UPLOAD_ID_PATTERN.test(uploadId) ? { key, uploadId } : undefined;
}

/**
 * API Gateway hands path parameters over as sent; serverless-offline decodes them. '%' is not allowed
 * in keys, so a '%' can only be percent-encoding: decoding is unambiguous either way.
 */
export function decodePathKey(raw: string): string {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
