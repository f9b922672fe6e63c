import { config } from '../config';
import { NotFoundError, UnsupportedMediaTypeError, ValidationError } from '../errors';
import type { Principal } from '../http/principal';
import { logger } from '../logger';
import {
  generateImageKey,
  generateUploadId,
  operatorObjectKey,
  originalObjectKey,
  thumbnailPrefix,
  uploadPrefix,
} from './keys';
import type { ImageRecord, ImageSummary, LabelMatch, Owner, Page } from './model';
import { deleteObjects, listObjectKeys, presignGet, presignPost, presignPut, putObject } from './objects';
import {
  claimImageKey,
  deleteImageRecord,
  getImageRecord,
  listImageRecords,
  listImagesByLabel,
} from './store';

// The image API: who may do what, and what a client gets back. Keys form one namespace: the first
// uploader of a key owns it; devices see their own images, the admin sees all.

/** Image types an upload may declare. The processor still decides from the bytes. */
export const UPLOAD_CONTENT_TYPES = [
  'image/jpeg',
  'image/png',
  'image/webp',
  'image/gif',
  'image/tiff',
  'image/avif',
] as const;
export type UploadContentType = (typeof UPLOAD_CONTENT_TYPES)[number];

/** Claims of keys nobody uploads to disappear a day after their URL expired. */
const CLAIM_GRACE_SECONDS = 86_400;

export const ownerOf = (principal: Principal): Owner =>
  principal.role === 'admin' ? 'admin' : `device:${principal.deviceId}`;

/** The record if the caller may see it; otherwise the same 404 as for a key that does not exist. */
export async function visibleRecord(principal: Principal, key: string): Promise<ImageRecord> {
  const record = await getImageRecord(key);
  if (!record || (principal.role !== 'admin' && record.owner !== ownerOf(principal)))
    throw new NotFoundError(`No image ${key}`);
  return record;
}

export interface UploadTicket {
  key: string;
  method: 'PUT';
  uploadUrl: string;
  /** Headers the PUT must carry exactly as signed. */
  headers: Record<string, string>;
  expiresIn: number;
  maxBytes: number;
  /** The same upload as an HTML-form POST: S3 itself enforces the size and type. */
  form: { url: string; fields: Record<string, string> };
}

export async function createUpload(
  principal: Principal,
  input: { key?: string; contentType: UploadContentType; contentLength: number },
): Promise<UploadTicket> {
  const key = input.key ?? generateImageKey();
  const expiresIn = config.UPLOAD_URL_TTL_SECONDS;
  if (input.contentLength > config.MAX_UPLOAD_BYTES)
    throw new ValidationError(`contentLength: at most ${config.MAX_UPLOAD_BYTES} bytes`, {
      field: 'contentLength',
    });
  const uploadId = generateUploadId();
  await claimImageKey(key, ownerOf(principal), uploadId, new Date(), expiresIn + CLAIM_GRACE_SECONDS);
  // The URL is bound to this claim's own object and to the declared size and type.
  const objectKey = originalObjectKey(key, uploadId);
  const [uploadUrl, form] = await Promise.all([
    presignPut(objectKey, input.contentType, input.contentLength, expiresIn),
    presignPost(objectKey, input.contentType, input.contentLength, expiresIn),
  ]);
  const headers = { 'content-type': input.contentType, 'content-length': String(input.contentLength) };
  logger.info('upload url issued', { imageKey: key, uploadId });
  return { key, method: 'PUT', uploadUrl, headers, expiresIn, maxBytes: config.MAX_UPLOAD_BYTES, form };
}

const BINARY_TYPES = new Set<string>(['application/octet-stream', ...UPLOAD_CONTENT_TYPES]);

/** PUT /api/images/{key}: a small image in the request body, stored as the upload it is. */
export async function putImage(
  principal: Principal,
  key: string,
  body: { bytes: Buffer | undefined; contentType: string | undefined; binary: boolean },
): Promise<{ key: string; status: 'pending' }> {
  const declared = (body.contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (!BINARY_TYPES.has(declared))
    throw new UnsupportedMediaTypeError(
      `Send the image bytes with Content-Type application/octet-stream or one of ${UPLOAD_CONTENT_TYPES.join(', ')}`,
    );
  // A body that was not delivered as binary has lost bytes on the way (serverless-offline treats
  // only application/octet-stream as binary).
  if (body.bytes && !body.binary)
    throw new UnsupportedMediaTypeError(
      'The body did not arrive as binary data; send it with Content-Type application/octet-stream',
    );
  if (!body.bytes?.length) throw new ValidationError('body: the image bytes are missing', { field: 'body' });
  const uploadId = generateUploadId();
  await claimImageKey(key, ownerOf(principal), uploadId, new Date(), CLAIM_GRACE_SECONDS);
  // Stored as declared; the processor determines the real format from the bytes.
  await putObject(originalObjectKey(key, uploadId), body.bytes, declared);
  logger.info('image uploaded', { imageKey: key, bytes: body.bytes.length });
  return { key, status: 'pending' };
}

export async function listImages(
  principal: Principal,
  query: { limit: number; after?: string; label?: string },
): Promise<Page<ImageSummary> | Page<LabelMatch>> {
  const owner = principal.role === 'admin' ? undefined : ownerOf(principal);
  if (query.label !== undefined) {
    return listImagesByLabel({ label: query.label, owner, limit: query.limit, after: query.after });
  }
  return listImageRecords({ owner, limit: query.limit, after: query.after });
}

export interface ImageDetails {
  key: string;
  owner: Owner;
  status: ImageRecord['status'];
  rejection?: ImageRecord['rejection'];
  format?: string;
  contentType?: string;
  width?: number;
  height?: number;
  bytes?: number;
  sha256?: string;
  capturedAt?: string;
  dominantColour?: string;
  labels: NonNullable<ImageRecord['labels']>;
  labeller?: string;
  original?: { url: string };
  thumbnails: Array<Omit<NonNullable<ImageRecord['thumbnails']>[number], 'objectKey'> & { url: string }>;
  urlsExpireIn: number;
  createdAt: string;
  updatedAt: string;
  processedAt?: string;
}

export async function getImage(principal: Principal, key: string): Promise<ImageDetails> {
  const record = await visibleRecord(principal, key);
  const expiresIn = config.DOWNLOAD_URL_TTL_SECONDS;
  // Rejected originals are deleted by the processor: only a ready image has one to offer.
  // Records processed before originals had one object per claim describe uploads/<key>.
  const original =
    record.status === 'ready'
      ? {
          url: await presignGet(record.objectKey ?? operatorObjectKey(key), expiresIn, {
            contentType: record.contentType,
          }),
        }
      : undefined;
  const thumbnails = await Promise.all(
    (record.thumbnails ?? []).map(async ({ objectKey, ...thumbnail }) => ({
      ...thumbnail,
      url: await presignGet(objectKey, expiresIn),
    })),
  );
  return {
    key: record.key,
    owner: record.owner,
    status: record.status,
    rejection: record.rejection,
    format: record.format,
    contentType: record.contentType,
    width: record.width,
    height: record.height,
    bytes: record.bytes,
    sha256: record.sha256,
    capturedAt: record.capturedAt,
    dominantColour: record.dominantColour,
    labels: record.labels ?? [],
    labeller: record.labeller,
    original,
    thumbnails,
    urlsExpireIn: expiresIn,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    processedAt: record.processedAt,
  };
}

const MAX_DELETE_ATTEMPTS = 4;

/** Removes the original, every thumbnail, the record and its label rows. */
export async function deleteImage(
  principal: Principal,
  key: string,
): Promise<{ key: string; deleted: true }> {
  let record = await visibleRecord(principal, key);
  for (let attempt = 1; ; attempt += 1) {
    // Objects first: if this fails, the record still points at what is left and a retry finishes.
    // The prefix listing also catches thumbnails of a version still being processed.
    // Every claim's original (uploads/<key>/…), an operator's uploads/<key>, and every thumbnail.
    const objects = new Set([
      operatorObjectKey(key),
      ...(record.thumbnails ?? []).map((thumbnail) => thumbnail.objectKey),
      ...(await listObjectKeys(uploadPrefix(key))),
      ...(await listObjectKeys(thumbnailPrefix(key))),
    ]);
    await deleteObjects([...objects]);
    if (await deleteImageRecord(record)) break;
    // Processed meanwhile: delete what it wrote too.
    const current = await getImageRecord(key);
    if (!current) break;
    if (attempt >= MAX_DELETE_ATTEMPTS) throw new Error(`image record ${key} kept changing`);
    record = current;
  }
  logger.info('image deleted', { imageKey: key });
  return { key, deleted: true };
}
