import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../aws/dynamo';
import { config } from '../config';
import { SETTINGS_SERIES } from '../stats/keys';
import type { CachePolicy } from './cache';

// The image cache's settings: one item in the stats table, read by every serving container every
// few seconds (IMAGE_CACHE_SETTINGS_REFRESH_SECONDS) and written by the admin.

export interface CacheSettings {
  capacityMb: number;
  policy: CachePolicy;
  /** Set by "clear": a container that sees a newer value empties its cache. */
  clearedAt?: string;
  updatedAt?: string;
}

export const DEFAULT_CACHE_SETTINGS: CacheSettings = { capacityMb: 64, policy: 'lru' };
export const MAX_CACHE_MB = 1024;

const KEY = { series: SETTINGS_SERIES, at: 'image-cache' };

export async function loadCacheSettings(): Promise<CacheSettings> {
  const { Item } = await dynamo.send(
    new GetCommand({ TableName: config.STATS_TABLE, Key: KEY, ConsistentRead: true }),
  );
  if (!Item) return DEFAULT_CACHE_SETTINGS;
  return {
    capacityMb: typeof Item.capacityMb === 'number' ? Item.capacityMb : DEFAULT_CACHE_SETTINGS.capacityMb,
    policy: Item.policy === 'random' ? 'random' : 'lru',
    ...(typeof Item.clearedAt === 'string' ? { clearedAt: Item.clearedAt } : {}),
    ...(typeof Item.updatedAt === 'string' ? { updatedAt: Item.updatedAt } : {}),
  };
}

async function saveCacheSettings(settings: CacheSettings): Promise<CacheSettings> {
  await dynamo.send(new PutCommand({ TableName: config.STATS_TABLE, Item: { ...KEY, ...settings } }));
  return settings;
}

export async function updateCacheSettings(change: {
  capacityMb: number;
  policy: CachePolicy;
}): Promise<CacheSettings> {
  const current = await loadCacheSettings();
  return saveCacheSettings({ ...current, ...change, updatedAt: new Date().toISOString() });
}

export async function clearCache(): Promise<CacheSettings> {
  const current = await loadCacheSettings();
  const now = new Date().toISOString();
  return saveCacheSettings({ ...current, clearedAt: now, updatedAt: now });
}
