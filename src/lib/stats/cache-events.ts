import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../aws/dynamo';
import { queryAll } from '../aws/paging';
import { config } from '../config';
import { cacheMinuteSeries, retentionExpiry } from './keys';

// Image-cache counters for the rollup: each serving container writes one item per minute (keyed by
// the container, overwritten as the minute goes on), so the rollup sums containers without double
// counting a retried write.

export interface CacheMinute {
  hits: number;
  misses: number;
  evictions: number;
  /** Gauges at the time of writing. */
  items: number;
  bytes: number;
}

export const minuteOf = (ms: number) => Math.floor(ms / 60_000) * 60_000;

export async function recordCacheMinute(
  containerId: string,
  minuteMs: number,
  counts: CacheMinute,
): Promise<void> {
  await dynamo.send(
    new PutCommand({
      TableName: config.STATS_TABLE,
      Item: {
        series: cacheMinuteSeries(minuteMs),
        at: containerId,
        ...counts,
        writtenAt: Date.now(),
        expiresAt: retentionExpiry(minuteMs, config.STATS_RETENTION_DAYS),
      },
    }),
  );
}

export interface CacheTotals {
  cacheHits: number;
  cacheMisses: number;
  cacheEvictions: number;
  /** Sum over containers of what each held in the interval's last minute that has any report. */
  cacheItems: number;
  cacheBytes: number;
}

/** Hits, misses and evictions in [fromMs, toMs) summed over containers; items and bytes as last seen. */
export async function cacheTotalsBetween(fromMs: number, toMs: number): Promise<CacheTotals> {
  const totals: CacheTotals = {
    cacheHits: 0,
    cacheMisses: 0,
    cacheEvictions: 0,
    cacheItems: 0,
    cacheBytes: 0,
  };
  for (let minute = minuteOf(fromMs); minute < toMs; minute += 60_000) {
    // One item per container that served images in that minute: a small partition.
    const items = (await queryAll({
      TableName: config.STATS_TABLE,
      KeyConditionExpression: 'series = :series',
      ExpressionAttributeValues: { ':series': cacheMinuteSeries(minute) },
    })) as Array<Partial<CacheMinute>>;
    if (items.length === 0) continue;
    totals.cacheItems = 0;
    totals.cacheBytes = 0;
    for (const item of items) {
      totals.cacheHits += item.hits ?? 0;
      totals.cacheMisses += item.misses ?? 0;
      totals.cacheEvictions += item.evictions ?? 0;
      // Gauges: what the containers held in the latest minute with any report.
      totals.cacheItems += item.items ?? 0;
      totals.cacheBytes += item.bytes ?? 0;
    }
  }
  return totals;
}
