import type { S3Event, S3EventRecord } from 'aws-lambda';
import { config } from '../config';
import { logger } from '../logger';
import { decodeS3EventKey, imageKeyFromObjectKey, isValidImageKey, thumbnailObjectKey } from './keys';
import type { Labeller } from './labeller';
import { pixelStats } from './local-labeller';
import type { ImageRecord, ThumbnailRef } from './model';
import { deleteObjects, fetchObject, objectExists, putObject } from './objects';
import { type RenderResult, renderImage, sha256Hex } from './render';
import { getImageRecord, replaceImageRecord } from './store';

export type RecordOutcome = 'ready' | 'rejected' | 'skipped' | 'stale' | 'missing';

export interface ProcessSummary {
  records: number;
  outcomes: Partial<Record<RecordOutcome, number>>;
}

const THUMBNAIL_CACHE_CONTROL = 'public, max-age=31536000, immutable';
const THUMBNAIL_TYPES = { webp: 'image/webp', jpeg: 'image/jpeg' } as const;
const THUMBNAIL_EXTENSIONS = { webp: 'webp', jpeg: 'jpg' } as const;
const MAX_WRITE_ATTEMPTS = 4;

/** S3 sequencers are hex strings of varying length; the greater value is the later event. */
export const normaliseSequencer = (sequencer: unknown): string =>
  String(sequencer ?? '')
    .toUpperCase()
    .padStart(32, '0');

export interface Upload {
  key: string;
  objectKey: string;
  size: number;
  etag: string;
  sequencer: string;
}

function describeUpload(record: S3EventRecord): Upload | undefined {
  const objectKey = decodeS3EventKey(record.s3.object.key);
  const key = imageKeyFromObjectKey(objectKey);
  if (!key || !isValidImageKey(key)) return undefined;
  return {
    key,
    objectKey,
    size: record.s3.object.size ?? 0,
    etag: (record.s3.object.eTag ?? '').replace(/^"|"$/g, ''),
    sequencer: normaliseSequencer(record.s3.object.sequencer),
  };
}

const tooLarge = (bytes: number) => ({
  result: {
    status: 'rejected',
    rejection: { code: 'too-large', message: `The file is larger than ${config.MAX_UPLOAD_BYTES} bytes` },
  } satisfies RenderResult,
  bytes,
});

type Rendered = { result: RenderResult; bytes: number; sha256?: string; etag?: string };

async function render(upload: Upload): Promise<Rendered | 'missing' | 'stale'> {
  // The event states the size: a too-large object is rejected without being downloaded.
  if (upload.size > config.MAX_UPLOAD_BYTES) return tooLarge(upload.size);
  const object = await fetchObject(upload.objectKey, config.MAX_UPLOAD_BYTES);
  if (object.status === 'missing') return 'missing';
  if (object.status === 'too-large') return tooLarge(object.bytes);
  // Overwritten since this event was sent: the newer upload has its own event.
  if (upload.etag && object.etag && upload.etag !== object.etag) return 'stale';
  const result = await renderImage(object.body, {
    maxBytes: config.MAX_UPLOAD_BYTES,
    maxPixels: config.MAX_IMAGE_PIXELS,
    sizes: config.THUMBNAIL_SIZES,
  });
  return { result, bytes: object.body.length, sha256: sha256Hex(object.body), etag: object.etag };
}

/** Processes one uploaded object into its record, thumbnails and label rows. */
export async function processUpload(
  upload: Upload,
  labeller: Labeller,
  now: () => Date = () => new Date(),
): Promise<RecordOutcome> {
  const rendered = await render(upload);
  if (rendered === 'missing' || rendered === 'stale') return rendered;
  const { result, bytes, sha256 } = rendered;

  let written: ThumbnailRef[] = [];
  const base = {
    sequencer: upload.sequencer,
    etag: rendered.etag ?? upload.etag,
    bytes,
    sha256,
  };
  let content: Partial<ImageRecord>;
  if (result.status === 'ready') {
    const { image } = result;
    const labels = await labeller.detect({
      jpeg: image.preview,
      sample: image.sample,
      width: image.width,
      height: image.height,
      animated: image.animated,
      hasAlpha: image.hasAlpha,
    });
    const digest = sha256 ?? '';
    written = image.thumbnails.map((thumbnail) => ({
      size: thumbnail.size,
      width: thumbnail.width,
      height: thumbnail.height,
      format: thumbnail.format,
      bytes: thumbnail.body.length,
      objectKey: thumbnailObjectKey(
        upload.key,
        digest,
        thumbnail.size,
        THUMBNAIL_EXTENSIONS[thumbnail.format],
      ),
    }));
    await Promise.all(
      image.thumbnails.map((thumbnail, index) =>
        putObject(
          written[index]?.objectKey ?? '',
          thumbnail.body,
          THUMBNAIL_TYPES[thumbnail.format],
          THUMBNAIL_CACHE_CONTROL,
        ),
      ),
    );
    content = {
      status: 'ready',
      format: image.format,
      contentType: image.contentType,
      width: image.width,
      height: image.height,
      capturedAt: image.capturedAt,
      dominantColour: pixelStats(image.sample).dominant,
      labels,
      labeller: labeller.name,
      thumbnails: written,
    };
  } else {
    content = { status: 'rejected', rejection: result.rejection, thumbnails: [], labels: [] };
  }

  // Optimistic write: re-read and retry when another writer got there first.
  let existed = false;
  for (let attempt = 1; ; attempt += 1) {
    const previous = await getImageRecord(upload.key);
    // Deleted (DELETE /api/images/{key}) while this upload was being processed: the record went
    // away, or there never was one and the object is gone too.
    if (!previous && (existed || !(await objectExists(upload.objectKey)))) {
      await removeUnreferenced(written, undefined);
      return 'missing';
    }
    existed = previous !== undefined;
    if (previous?.sequencer && previous.sequencer > upload.sequencer) {
      await removeUnreferenced(written, previous);
      return 'stale';
    }
    const timestamp = now().toISOString();
    const next: ImageRecord = {
      key: upload.key,
      // Uploads normally come through the API, which records the owner first; anything else in
      // uploads/ was put there by an operator and belongs to the admin.
      owner: previous?.owner ?? 'admin',
      version: (previous?.version ?? 0) + 1,
      createdAt: previous?.createdAt ?? timestamp,
      updatedAt: timestamp,
      processedAt: timestamp,
      ...base,
      ...content,
      status: content.status ?? 'rejected',
    };
    if (!previous) logger.warn('upload without a claim; owned by admin', { imageKey: upload.key });
    if (await replaceImageRecord(previous, next)) {
      // Thumbnails of the version this one replaces (content-addressed keys, so a same-content
      // re-upload keeps its objects).
      await removeUnreferenced(previous?.thumbnails ?? [], next);
      logger.info('image processed', {
        imageKey: upload.key,
        status: next.status,
        reason: next.rejection?.code,
        thumbnails: written.length,
        labels: next.labels?.length ?? 0,
      });
      return next.status === 'ready' ? 'ready' : 'rejected';
    }
    if (attempt >= MAX_WRITE_ATTEMPTS) throw new Error(`image record ${upload.key} kept changing`);
  }
}

async function removeUnreferenced(thumbnails: ThumbnailRef[], keep: ImageRecord | undefined): Promise<void> {
  const kept = new Set((keep?.thumbnails ?? []).map((thumbnail) => thumbnail.objectKey));
  const obsolete = thumbnails.map((thumbnail) => thumbnail.objectKey).filter((key) => !kept.has(key));
  if (obsolete.length) await deleteObjects(obsolete);
}

/**
 * Handles every record of an S3 event. Bad files become `rejected` records; only infrastructure
 * failures throw, after every record has been tried, so Lambda's bounded retry re-runs an
 * idempotent batch.
 */
export async function processUploadEvent(event: S3Event, labeller: Labeller): Promise<ProcessSummary> {
  const outcomes: Partial<Record<RecordOutcome, number>> = {};
  const count = (outcome: RecordOutcome) => {
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
  };
  let failures = 0;
  for (const record of event.Records ?? []) {
    const upload = record.eventName?.startsWith('ObjectCreated') ? describeUpload(record) : undefined;
    if (!upload) {
      logger.warn('record skipped: not an upload with a valid image key', { eventName: record.eventName });
      count('skipped');
      continue;
    }
    try {
      count(await processUpload(upload, labeller));
    } catch (error) {
      failures += 1;
      logger.error('record failed', { imageKey: upload.key, error: error as Error });
    }
  }
  const records = event.Records?.length ?? 0;
  if (failures > 0) throw new Error(`${failures} of ${records} upload(s) could not be processed`);
  return { records, outcomes };
}
