import type { S3Event, S3EventRecord } from 'aws-lambda';
import { config } from '../config';
import { logger } from '../logger';
import { count, MetricName, milliseconds } from '../observability';
import { recordImageOutcome } from '../stats/image-events';
import {
  decodeS3EventKey,
  isValidImageKey,
  operatorObjectKey,
  parseUploadObjectKey,
  thumbnailObjectKey,
} from './keys';
import type { Labeller } from './labeller';
import { pixelStats } from './local-labeller';
import type { ImageRecord, ThumbnailRef } from './model';
import { deleteObjects, fetchObject, objectExists, putObject } from './objects';
import { type RenderResult, renderImage, sha256Hex } from './render';
import { getImageRecord, replaceImageRecord } from './store';

/** `refused`: the object of a claim that is no longer the key's current one (deleted, unprocessed). */
export type RecordOutcome = 'ready' | 'rejected' | 'refused' | 'skipped' | 'stale' | 'missing';

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
  /** The claim the object was uploaded for; undefined for an operator's object at uploads/<key>. */
  uploadId?: string;
  objectKey: string;
  size: number;
  etag: string;
  sequencer: string;
}

function describeUpload(record: S3EventRecord): Upload | undefined {
  let objectKey: string;
  try {
    objectKey = decodeS3EventKey(record.s3.object.key);
  } catch {
    // Malformed percent-encoding: not a key S3 would send, and no reason to fail the other records.
    return undefined;
  }
  const parsed = parseUploadObjectKey(objectKey);
  if (!parsed || !isValidImageKey(parsed.key)) return undefined;
  return {
    key: parsed.key,
    uploadId: parsed.uploadId,
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

/** The object a record describes (records from before per-claim objects describe uploads/<key>). */
const describedObject = (record: ImageRecord): string => record.objectKey ?? operatorObjectKey(record.key);

/**
 * Whether the record (as read) still wants this upload: an operator's object always (only IAM
 * principals can write uploads/<key>), a claim's object only while it is the key's current claim.
 */
const isCurrentClaim = (upload: Upload, record: ImageRecord | undefined): boolean =>
  upload.uploadId === undefined || (record !== undefined && record.uploadId === upload.uploadId);

/**
 * An object written through a stale claim (an old URL after the key was deleted, claimed by someone
 * else or claimed again) never reaches the record: it is deleted, unless it is the very original the
 * record describes (a late duplicate event).
 */
async function refuse(upload: Upload, current: ImageRecord | undefined): Promise<RecordOutcome> {
  if (current && describedObject(current) === upload.objectKey) return 'stale';
  await deleteObjects([upload.objectKey]);
  logger.warn('upload refused: not the current claim of its key', {
    imageKey: upload.key,
    uploadId: upload.uploadId,
  });
  return 'refused';
}

/** Processes one uploaded object into its record, thumbnails and label rows. */
export async function processUpload(
  upload: Upload,
  labeller: Labeller,
  now: () => Date = () => new Date(),
): Promise<RecordOutcome> {
  // Cheap first look, before downloading anything; the write below checks again.
  const claimed = await getImageRecord(upload.key);
  if (!isCurrentClaim(upload, claimed)) return refuse(upload, claimed);
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
    if (!isCurrentClaim(upload, previous)) {
      await removeUnreferenced(written, previous);
      return refuse(upload, previous);
    }
    // Deleted (DELETE /api/images/{key}) while this upload was being processed: the record went
    // away, or there never was one and the object is gone too.
    if (!previous && (existed || !(await objectExists(upload.objectKey)))) {
      await removeUnreferenced(written, undefined);
      return 'missing';
    }
    existed = previous !== undefined;
    // Sequencers order the events of one object only.
    const sameObject = previous !== undefined && describedObject(previous) === upload.objectKey;
    if (sameObject && previous?.sequencer && previous.sequencer > upload.sequencer) {
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
      uploadId: previous?.uploadId,
      objectKey: upload.objectKey,
      ...base,
      ...content,
      status: content.status ?? 'rejected',
    };
    if (!previous) logger.warn('upload without a claim; owned by admin', { imageKey: upload.key });
    if (await replaceImageRecord(previous, next)) {
      const outcome = next.status === 'ready' ? 'ready' : 'rejected';
      // Recorded first, so a failed clean-up below (retried) does not leave the upload uncounted. A
      // retry of the same event records into the same item (and minute) as its first run.
      const firstProcessedAt =
        sameObject && previous?.sequencer === upload.sequencer && previous.processedAt
          ? previous.processedAt
          : timestamp;
      await recordImageOutcome(
        `${upload.objectKey}#${upload.sequencer}`,
        outcome === 'ready' ? 'processed' : 'rejected',
        Date.parse(firstProcessedAt),
      );
      // Thumbnails of the version this one replaces (content-addressed keys, so a same-content
      // re-upload keeps its objects).
      await removeUnreferenced(previous?.thumbnails ?? [], next);
      // Originals no record describes any more: the replaced one, and a rejected upload itself (it
      // must not stay in the bucket whatever its size).
      const obsolete = new Set<string>();
      if (previous?.status === 'ready' && !sameObject) obsolete.add(describedObject(previous));
      if (next.status === 'rejected') obsolete.add(upload.objectKey);
      if (obsolete.size) await deleteObjects([...obsolete]);
      logger.info('image processed', {
        imageKey: upload.key,
        uploadId: upload.uploadId,
        status: next.status,
        reason: next.rejection?.code,
        thumbnails: written.length,
        labels: next.labels?.length ?? 0,
      });
      return outcome;
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
  const tally = (outcome: RecordOutcome) => {
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
  };
  let failures = 0;
  for (const record of event.Records ?? []) {
    const upload = record.eventName?.startsWith('ObjectCreated') ? describeUpload(record) : undefined;
    if (!upload) {
      logger.warn('record skipped: not an upload with a valid image key', { eventName: record.eventName });
      tally('skipped');
      continue;
    }
    const started = performance.now();
    try {
      const outcome = await processUpload(upload, labeller);
      tally(outcome);
      if (outcome === 'ready' || outcome === 'rejected') {
        count(outcome === 'ready' ? MetricName.ImagesProcessed : MetricName.ImagesRejected);
        milliseconds(MetricName.ImageProcessingMs, Math.round(performance.now() - started));
      }
    } catch (error) {
      failures += 1;
      logger.error('record failed', { imageKey: upload.key, error: error as Error });
    }
  }
  const records = event.Records?.length ?? 0;
  if (failures > 0) throw new Error(`${failures} of ${records} upload(s) could not be processed`);
  return { records, outcomes };
}
