import { TransactWriteCommand, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { batchGet } from '../aws/batch';
import { mapConcurrent } from '../aws/concurrency';
import { dynamo, writtenIf } from '../aws/dynamo';
import { retryRemaining } from '../aws/retry';
import { config } from '../config';
import { currentDataKey } from '../crypto/data-keys';
import { activeDevices } from '../devices/devices';
import { logger } from '../logger';
import { count, MetricName } from '../observability';
import { DAY_MS, floorTo, HOUR_MS, MINUTE_MS } from './buckets';
import {
  daySortKey,
  fieldSortKey,
  fieldTag,
  hourSortKey,
  minuteOfPartial,
  partialRange,
  STATE_SORT_KEY,
} from './keys';
import { packTransactions } from './plan';
import {
  type CatalogueEntry,
  catalogueShape,
  openJson,
  partialShape,
  type SealedItem,
  type Summary,
  sealJson,
  summaryShape,
  tagKey,
} from './sealed';
import { mergeStat, type Partial, type Stat } from './stats';
import { AGGREGATE_KEY, livePartials, openOrReport } from './store';

// Compaction: minute partials of closed hours → the field's hour summary (minute slots), day
// summary (hour slots) and catalogue count, in one transaction that also tombstones the partials it
// merged. Exactly once: every summary is written on the condition that its version is still the
// one read, and every partial on the condition that it is still pending; a transaction either
// applies whole or not at all, so a run that crashes, or two runs at once, can neither lose a
// partial nor count it twice, and a re-run finds nothing left to do.

export interface CompactionResult {
  devices: number;
  /** Partials merged into summaries. */
  compacted: number;
  transactions: number;
  /** Partials or summaries that failed authentication: left as they are (and alarmed on). */
  unreadable: number;
  /** Partials left for the next run (conflicting writes, or over the per-run limit). */
  deferred: number;
}

interface OpenedPartial {
  sk: string;
  minute: number;
  partial: Partial;
  fields: string[];
}

type Outcome = 'merged' | 'conflict' | 'unreadable';

const expiry = (levelEnd: number, retentionDays: number) =>
  retentionDays > 0 ? Math.floor(levelEnd / 1000) + retentionDays * 86_400 : undefined;

type Level = 'hour' | 'day' | 'field';

/** Adds one minute's stat to an hour summary (its minute slot), a day summary (its hour slot) or a catalogue entry. */
function addTo(content: Summary | CatalogueEntry, level: Level, minute: number, stat: Stat): void {
  if ('count' in content) {
    content.count += stat[0];
    return;
  }
  const slot = String(
    level === 'hour'
      ? (minute - floorTo(minute, HOUR_MS)) / MINUTE_MS
      : (floorTo(minute, HOUR_MS) - floorTo(minute, DAY_MS)) / HOUR_MS,
  );
  content.slots[slot] = mergeStat(content.slots[slot], stat);
}

/** Merges one group of partials of one hour; 'conflict' when another writer changed something first. */
async function mergeGroup(
  deviceId: string,
  hour: number,
  group: readonly OpenedPartial[],
  tags: Buffer,
): Promise<Outcome> {
  const day = floorTo(hour, DAY_MS);
  const now = Date.now();
  const hourExpiry = expiry(hour + HOUR_MS, config.AGGREGATES_HOUR_RETENTION_DAYS);
  const dayExpiry = expiry(day + DAY_MS, config.AGGREGATES_DAY_RETENTION_DAYS);
  // A level already past its retention is not written (TTL would delete it); the others still count.
  const keepHour = hourExpiry === undefined || hourExpiry * 1000 > now;
  const keepDay = dayExpiry === undefined || dayExpiry * 1000 > now;
  const fields = [...new Set(group.flatMap((partial) => partial.fields))].sort();
  const targets = fields.flatMap((field) => {
    const tag = fieldTag(tags, deviceId, field);
    return [
      ...(keepHour ? [{ field, sk: hourSortKey(tag, hour), kind: 'hour' as const }] : []),
      ...(keepDay ? [{ field, sk: daySortKey(tag, day), kind: 'day' as const }] : []),
      { field, sk: fieldSortKey(tag), kind: 'field' as const },
    ];
  });
  const existing = new Map(
    (
      (await batchGet(
        config.AGGREGATES_TABLE,
        targets.map(({ sk }) => ({ deviceId, sk })),
        AGGREGATE_KEY,
        { consistentRead: true },
      )) as unknown as SealedItem[]
    ).map((item) => [item.sk, item]),
  );

  const contents = new Map<string, Summary | CatalogueEntry>();
  for (const target of targets) {
    const item = existing.get(target.sk);
    if (!item) {
      contents.set(
        target.sk,
        target.kind === 'field' ? { field: target.field, count: 0 } : { field: target.field, slots: {} },
      );
      continue;
    }
    const opened = await openOrReport(item, (key) =>
      openJson(key, item, target.kind === 'field' ? catalogueShape : summaryShape),
    );
    // A different field under this tag would mean a moved or forged item: never merge into it.
    if (!opened || opened.field !== target.field) return 'unreadable';
    contents.set(target.sk, opened);
  }
  for (const { minute, partial } of group) {
    for (const [field, stat] of partial) {
      for (const target of targets.filter((candidate) => candidate.field === field))
        addTo(contents.get(target.sk) as Summary | CatalogueEntry, target.kind, minute, stat);
    }
  }

  const { keyId, key } = await currentDataKey(targets.length);
  const transactItems: NonNullable<TransactWriteCommandInput['TransactItems']> = targets.map((target) => {
    const previous = existing.get(target.sk);
    const levelExpiry = target.kind === 'hour' ? hourExpiry : target.kind === 'day' ? dayExpiry : undefined;
    const { iv, ct } = sealJson(key, deviceId, target.sk, contents.get(target.sk));
    return {
      Put: {
        TableName: config.AGGREGATES_TABLE,
        Item: {
          deviceId,
          sk: target.sk,
          kid: keyId,
          iv,
          ct,
          v: (previous?.v ?? 0) + 1,
          ...(levelExpiry === undefined ? {} : { expiresAt: levelExpiry }),
        },
        ...(previous
          ? {
              ConditionExpression: '#v = :v',
              ExpressionAttributeNames: { '#v': 'v' },
              ExpressionAttributeValues: { ':v': previous.v ?? 0 },
            }
          : { ConditionExpression: 'attribute_not_exists(sk)' }),
      },
    };
  });
  for (const { sk } of group) {
    transactItems.push({
      Update: {
        TableName: config.AGGREGATES_TABLE,
        Key: { deviceId, sk },
        // The tombstone keeps the key (and its expiry): a redelivered message cannot write it again.
        UpdateExpression: 'SET c = :now REMOVE pending, iv, ct, kid',
        ConditionExpression: 'attribute_exists(pending)',
        ExpressionAttributeValues: { ':now': now },
      },
    });
  }
  transactItems.push({
    Update: {
      TableName: config.AGGREGATES_TABLE,
      Key: { deviceId, sk: STATE_SORT_KEY },
      UpdateExpression: 'ADD #v :one',
      ExpressionAttributeNames: { '#v': 'v' },
      ExpressionAttributeValues: { ':one': 1 },
    },
  });
  const applied = await writtenIf(dynamo.send(new TransactWriteCommand({ TransactItems: transactItems })));
  return applied ? 'merged' : 'conflict';
}

async function compactDevice(deviceId: string, boundary: number, tags: () => Promise<Buffer>) {
  const result = { compacted: 0, transactions: 0, unreadable: 0, deferred: 0 };
  const items = await livePartials(
    deviceId,
    partialRange(0, boundary),
    config.AGGREGATES_MAX_PARTIALS_PER_RUN,
  );
  if (items.length === 0) return result;
  const byHour = new Map<number, OpenedPartial[]>();
  for (const item of items) {
    const partial = await openOrReport(item, (key) => openJson(key, item, partialShape));
    if (!partial) {
      result.unreadable += 1;
      continue;
    }
    const minute = minuteOfPartial(item.sk);
    const hour = floorTo(minute, HOUR_MS);
    const list = byHour.get(hour) ?? [];
    list.push({ sk: item.sk, minute, partial, fields: [...partial.keys()] });
    byHour.set(hour, list);
  }
  const tagKeyValue = byHour.size > 0 ? await tags() : undefined;
  for (const [hour, partials] of [...byHour].sort(([a], [b]) => a - b)) {
    for (const group of packTransactions(partials)) {
      let outcome = 'conflict' as Outcome;
      // A conflict re-reads the summaries and tries again; what still conflicts waits for the next run.
      await retryRemaining(
        [group],
        async (pending) => {
          outcome = await mergeGroup(deviceId, hour, group, tagKeyValue as Buffer);
          return outcome === 'conflict' ? pending : [];
        },
        { attempts: 5, baseDelayMs: 100, maxDelayMs: 1_000 },
      );
      if (outcome === 'merged') {
        result.compacted += group.length;
        result.transactions += 1;
      } else if (outcome === 'unreadable') result.unreadable += group.length;
      else result.deferred += group.length;
    }
  }
  return result;
}

/** Compacts every active device's partials of hours that closed AGGREGATES_SETTLE_SECONDS before `at`. */
export async function compactAggregates(at: Date): Promise<CompactionResult> {
  // Never ahead of the real clock, whatever time the event names: only closed hours are compacted.
  const reference = Math.min(at.getTime(), Date.now());
  const boundary = floorTo(reference - config.AGGREGATES_SETTLE_SECONDS * 1000, HOUR_MS);
  let tags: Promise<Buffer> | undefined;
  const lazyTags = () => {
    tags ??= tagKey({ create: true }).then((key) => key as Buffer);
    return tags;
  };
  const devices: string[] = [];
  for await (const device of activeDevices()) devices.push(device.deviceId);
  const results = await mapConcurrent(devices, 4, (deviceId) => compactDevice(deviceId, boundary, lazyTags));
  const total: CompactionResult = {
    devices: devices.length,
    compacted: 0,
    transactions: 0,
    unreadable: 0,
    deferred: 0,
  };
  for (const result of results) {
    total.compacted += result.compacted;
    total.transactions += result.transactions;
    total.unreadable += result.unreadable;
    total.deferred += result.deferred;
  }
  count(MetricName.AggregatesCompacted, total.compacted);
  logger.info('aggregates compacted', { ...total });
  return total;
}

/**
 * The compacted form of one field's minute stats, as compaction would leave it (hour and day summaries,
 * catalogue entry), sealed and ready to put: for tools that seed history straight into the table
 * (bench/), never for a device that already has summaries of that field.
 */
export async function compactedItems(
  deviceId: string,
  field: string,
  minutes: ReadonlyMap<number, Stat>,
): Promise<Array<Record<string, unknown>>> {
  const tag = fieldTag((await tagKey({ create: true })) as Buffer, deviceId, field);
  const contents = new Map<string, { level: Level; end: number; content: Summary | CatalogueEntry }>();
  const at = (sk: string, level: Level, end: number) => {
    let entry = contents.get(sk);
    if (!entry) {
      entry = { level, end, content: level === 'field' ? { field, count: 0 } : { field, slots: {} } };
      contents.set(sk, entry);
    }
    return entry;
  };
  for (const [minute, stat] of minutes) {
    const hour = floorTo(minute, HOUR_MS);
    const day = floorTo(minute, DAY_MS);
    addTo(at(hourSortKey(tag, hour), 'hour', hour + HOUR_MS).content, 'hour', minute, stat);
    addTo(at(daySortKey(tag, day), 'day', day + DAY_MS).content, 'day', minute, stat);
    addTo(at(fieldSortKey(tag), 'field', 0).content, 'field', minute, stat);
  }
  const { keyId, key } = await currentDataKey(contents.size);
  return [...contents].map(([sk, { level, end, content }]) => {
    const levelExpiry =
      level === 'hour'
        ? expiry(end, config.AGGREGATES_HOUR_RETENTION_DAYS)
        : level === 'day'
          ? expiry(end, config.AGGREGATES_DAY_RETENTION_DAYS)
          : undefined;
    return {
      deviceId,
      sk,
      kid: keyId,
      ...sealJson(key, deviceId, sk, content),
      v: 1,
      ...(levelExpiry === undefined ? {} : { expiresAt: levelExpiry }),
    };
  });
}
