import { randomUUID } from 'node:crypto';
import { config } from '../config';
import { ConflictError, ContentTooLargeError, NotFoundError } from '../errors';
import type { Principal } from '../http/principal';
import { logger } from '../logger';
import { count, gauge, MetricName, MetricUnit } from '../observability';
import { minuteOf, recordCacheMinute } from '../stats/cache-events';
import { type CachedImage, ImageCache } from './cache';
import { loadCacheSettings } from './cache-settings';
import { operatorObjectKey } from './keys';
import type { ImageRecord } from './model';
import { fetchObject } from './objects';
import { visibleRecord } from './service';

// GET /api/images/{key}/content: image bytes through this container's cache.

/**
 * Lambda answers at most 6 MB, and binary bodies travel base64-encoded (4/3 larger): 4 MiB of image
 * is the most that fits with headers to spare. Larger objects are refused with a pointer to the
 * presigned URL of GET /api/images/{key}.
 */
export const MAX_CONTENT_BYTES = 4 * 1024 * 1024;

export type ContentSize = number | 'original';

const MB = 1024 * 1024;
const containerId = randomUUID();
const cache = new ImageCache(64 * MB, 'lru');
let settingsCheckedAt = 0;
let clearedAt: string | undefined;
let flushedAt = 0;
let minute = minuteOf(Date.now());
let minuteStart = { hits: 0, misses: 0, evictions: 0 };

/** Re-reads the shared settings when they are older than the refresh period (changes reach every container). */
async function refreshSettings(now: number): Promise<void> {
  if (now - settingsCheckedAt < config.IMAGE_CACHE_SETTINGS_REFRESH_SECONDS * 1000) return;
  settingsCheckedAt = now;
  const settings = await loadCacheSettings();
  cache.configure(settings.capacityMb * MB, settings.policy);
  if (settings.clearedAt !== clearedAt) {
    // The first look only learns the generation: a fresh container has nothing to clear.
    if (clearedAt !== undefined || settings.clearedAt !== undefined) cache.clear();
    clearedAt = settings.clearedAt;
  }
}

function minuteCounts() {
  return {
    hits: cache.counters.hits - minuteStart.hits,
    misses: cache.counters.misses - minuteStart.misses,
    evictions: cache.counters.evictions - minuteStart.evictions,
    items: cache.items,
    bytes: cache.bytes,
  };
}

/** Writes this container's counters for the rollup, at most every IMAGE_CACHE_FLUSH_SECONDS. */
async function flushCounters(now: number): Promise<void> {
  const currentMinute = minuteOf(now);
  if (currentMinute !== minute) {
    // The minute that ended gets its final figures before counting starts again.
    await recordCacheMinute(containerId, minute, minuteCounts());
    minute = currentMinute;
    minuteStart = { ...cache.counters };
    flushedAt = now;
  }
  if (now - flushedAt < config.IMAGE_CACHE_FLUSH_SECONDS * 1000) return;
  flushedAt = now;
  await recordCacheMinute(containerId, minute, minuteCounts());
}

/** The object to serve: the thumbnail of that size (WebP), the nearest smaller one, or the original. */
export function chooseObject(
  record: ImageRecord,
  size: ContentSize,
): { objectKey: string; contentType: string } {
  if (size === 'original')
    return {
      // Uploads through the API name their own object; one an operator put straight into the bucket
      // is the key itself.
      objectKey: record.objectKey ?? operatorObjectKey(record.key),
      contentType: record.contentType ?? 'application/octet-stream',
    };
  const webp = (record.thumbnails ?? [])
    .filter((thumbnail) => thumbnail.format === 'webp')
    .sort((a, b) => a.size - b.size);
  const chosen =
    webp.find((thumbnail) => thumbnail.size === size) ??
    webp.filter((thumbnail) => thumbnail.size < size).pop() ??
    webp[0];
  if (!chosen) return chooseObject(record, 'original');
  return { objectKey: chosen.objectKey, contentType: 'image/webp' };
}

export interface ImageContent extends CachedImage {
  cache: 'hit' | 'miss';
}

export async function imageContent(
  principal: Principal,
  key: string,
  size: ContentSize,
): Promise<ImageContent> {
  const now = Date.now();
  const [record] = await Promise.all([visibleRecord(principal, key), refreshSettings(now)]);
  if (record.status === 'pending') throw new ConflictError(`Image ${key} is still being processed`);
  // A rejected upload is whatever bytes were sent: never served for display.
  if (record.status === 'rejected') throw new NotFoundError(`Image ${key} was rejected: nothing to show`);
  const { objectKey, contentType } = chooseObject(record, size);
  // Every upload has an object of its own and thumbnail names are content-addressed: an object key
  // never names other bytes later, so it is the cache key.
  let content: ImageContent;
  const cached = cache.get(objectKey);
  if (cached) {
    count(MetricName.ImageCacheHits);
    content = { ...cached, cache: 'hit' };
  } else {
    count(MetricName.ImageCacheMisses);
    const fetched = await fetchObject(objectKey, MAX_CONTENT_BYTES);
    if (fetched.status === 'missing') throw new NotFoundError(`No content for image ${key}`);
    if (fetched.status === 'too-large')
      throw new ContentTooLargeError(
        `This image is ${fetched.bytes} bytes; at most ${MAX_CONTENT_BYTES} are served here. Use the presigned URL of GET /api/images/{key} or a smaller size.`,
      );
    const evictionsBefore = cache.counters.evictions;
    cache.set(objectKey, { body: fetched.body, contentType });
    count(MetricName.ImageCacheEvictions, cache.counters.evictions - evictionsBefore);
    content = { body: fetched.body, contentType, cache: 'miss' };
  }
  gauge(MetricName.ImageCacheItems, cache.items);
  gauge(MetricName.ImageCacheBytes, cache.bytes, MetricUnit.Bytes);
  // Statistics must never fail the request that produced them.
  await flushCounters(now).catch((error: Error) =>
    logger.warn('image cache counters not written', { error: error.message }),
  );
  return content;
}
