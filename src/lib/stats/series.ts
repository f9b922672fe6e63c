import { queryAll } from '../aws/paging';
import { config } from '../config';
import { deviceSeries, GLOBAL_SERIES, timeKey } from './keys';
import type { DeviceRollup, GlobalRollup } from './rollup';

export type StatsScope = { kind: 'global' } | { kind: 'device'; deviceId: string };

import type { StatsSeries } from './series-shape';

export type { StatsSeries };

// Public fields, in the order they are shown (DynamoDB returns attributes in no particular order).
const GLOBAL_FIELDS = [
  'intervalStart',
  'intervalEnd',
  'intervalSeconds',
  'devices',
  'devicesReporting',
  'silentDevices',
  'readingsStored',
  'ingestRatePerMinute',
  'imagesProcessed',
  'imagesRejected',
  'cacheHits',
  'cacheMisses',
  'cacheEvictions',
  'cacheItems',
  'cacheBytes',
  'queueVisible',
  'queueInFlight',
  'oldestMessageAgeSeconds',
  'dlqDepth',
] as const satisfies ReadonlyArray<keyof GlobalRollup>;
const DEVICE_FIELDS = [
  'deviceId',
  'intervalStart',
  'intervalEnd',
  'readingsStored',
  'total',
  'lastSeenAt',
  'maxRelativeTime',
] as const satisfies ReadonlyArray<keyof DeviceRollup>;

const pick = (item: Record<string, unknown>, fields: ReadonlyArray<string>) =>
  Object.fromEntries(fields.filter((field) => field in item).map((field) => [field, item[field]]));

/** The rollups of the intervals that started in the last `minutes` minutes (one Query, paged). */
export async function statsSeries(
  scope: StatsScope,
  minutes: number,
  now = Date.now(),
): Promise<StatsSeries<GlobalRollup | DeviceRollup>> {
  const from = now - minutes * 60_000;
  const fields = scope.kind === 'global' ? GLOBAL_FIELDS : DEVICE_FIELDS;
  // Bounded by STATS_MAX_MINUTES: at most one item per interval.
  const items = await queryAll({
    TableName: config.STATS_TABLE,
    KeyConditionExpression: 'series = :series AND #at >= :from',
    ExpressionAttributeNames: { '#at': 'at' },
    ExpressionAttributeValues: {
      ':series': scope.kind === 'global' ? GLOBAL_SERIES : deviceSeries(scope.deviceId),
      ':from': timeKey(from),
    },
  });
  const data = items.map((item) => pick(item, fields) as unknown as GlobalRollup | DeviceRollup);
  return {
    series: scope.kind,
    ...(scope.kind === 'device' ? { deviceId: scope.deviceId } : {}),
    intervalSeconds: config.STATS_INTERVAL_SECONDS,
    from: new Date(from).toISOString(),
    to: new Date(now).toISOString(),
    data,
  };
}
