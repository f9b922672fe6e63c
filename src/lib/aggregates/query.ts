import * as z from 'zod';
import { queryAll, queryPages } from '../aws/paging';
import { config } from '../config';
import { decodeCursor, encodeCursor } from '../pagination';
import {
  alignedRange,
  ceilTo,
  chooseStep,
  DAY_MS,
  floorTo,
  HOUR_MS,
  MINUTE_MS,
  needsMinuteDetail,
  STEPS,
  type Step,
} from './buckets';
import {
  daySortKey,
  FIELD_SORT_KEY,
  fieldSortKey,
  fieldTag,
  hourSortKey,
  minuteOfPartial,
  partialRange,
  summaryTime,
} from './keys';
import { catalogueShape, openJson, partialShape, type SealedItem, summaryShape, tagKey } from './sealed';
import { mergeStat, type Stat } from './stats';
import { livePartials, openOrReport, snapshot } from './store';

export interface AggregatesRequest {
  deviceId: string;
  field: string;
  from: number;
  to: number;
  step?: Step;
}

export interface Bucket {
  t: string;
  count: number;
  min: number;
  max: number;
  sum: number;
  avg: number;
}

export interface AggregatesAnswer {
  field: string;
  step: Step;
  data: Bucket[];
  /** Buckets left out because an item behind them failed authentication (tampered or misplaced). */
  unreadable?: string[];
}

/** Accumulates slots into the query's buckets; a bucket touched by an unreadable item is withheld. */
class Buckets {
  private readonly stats = new Map<number, Stat>();
  private readonly spoiled = new Set<number>();

  constructor(
    private readonly start: number,
    private readonly end: number,
    private readonly stepMs: number,
  ) {}

  add(slot: number, stat: Stat) {
    if (slot < this.start || slot >= this.end) return;
    const bucket = floorTo(slot, this.stepMs);
    this.stats.set(bucket, mergeStat(this.stats.get(bucket), stat));
  }

  spoil(from: number, to: number) {
    const first = Math.max(this.start, floorTo(from, this.stepMs));
    const last = Math.min(this.end, ceilTo(to, this.stepMs));
    for (let bucket = first; bucket < last; bucket += this.stepMs) this.spoiled.add(bucket);
  }

  answer(field: string, step: Step): AggregatesAnswer {
    const data = [...this.stats]
      .filter(([bucket]) => !this.spoiled.has(bucket))
      .sort(([a], [b]) => a - b)
      .map(([bucket, [count, min, max, sum]]) => ({
        t: new Date(bucket).toISOString(),
        count,
        min,
        max,
        sum,
        avg: sum / count,
      }));
    const answer: AggregatesAnswer = { field, step, data };
    if (this.spoiled.size > 0)
      answer.unreadable = [...this.spoiled]
        .sort((a, b) => a - b)
        .map((bucket) => new Date(bucket).toISOString());
    return answer;
  }
}

/**
 * One field of a device per step over [from, to) (rounded out to whole steps): summaries where
 * compaction made them (hour summaries for steps under 1h, day summaries otherwise), plus the
 * partials not compacted yet; read as one snapshot, so each message counts once.
 */
export async function queryAggregates(request: AggregatesRequest): Promise<AggregatesAnswer> {
  const { deviceId, field } = request;
  const step = request.step ?? chooseStep(request.from, request.to);
  const { start, end } = alignedRange(request.from, request.to, step);
  const tags = await tagKey({ create: false });
  const minuteDetail = needsMinuteDetail(step);
  const [span, slot, sortKey] = minuteDetail
    ? [HOUR_MS, MINUTE_MS, hourSortKey]
    : [DAY_MS, HOUR_MS, daySortKey];
  // With no tag key yet, nothing has ever been compacted: partials are all there is.
  const readSummaries = async (): Promise<SealedItem[]> => {
    if (!tags) return [];
    const tag = fieldTag(tags, deviceId, field);
    return (await queryAll({
      TableName: config.AGGREGATES_TABLE,
      KeyConditionExpression: 'deviceId = :device AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: {
        ':device': deviceId,
        ':from': sortKey(tag, floorTo(start, span)),
        ':to': sortKey(tag, floorTo(end - 1, span)),
      },
      ConsistentRead: true,
    })) as unknown as SealedItem[];
  };
  // Both reads fall between snapshot's two reads of the compaction count: in parallel they still see
  // the same compactions.
  return snapshot(deviceId, async () => {
    const buckets = new Buckets(start, end, STEPS[step]);
    const [summaries, partials] = await Promise.all([
      readSummaries(),
      livePartials(deviceId, partialRange(start, end)),
    ]);
    for (const item of summaries) {
      const time = summaryTime(item.sk);
      const summary = await openOrReport(item, (key) => openJson(key, item, summaryShape));
      if (!summary || summary.field !== field) {
        buckets.spoil(time, time + span);
        continue;
      }
      for (const [index, stat] of Object.entries(summary.slots))
        buckets.add(time + Number(index) * slot, stat);
    }
    for (const item of partials) {
      const minute = minuteOfPartial(item.sk);
      const partial = await openOrReport(item, (key) => openJson(key, item, partialShape));
      if (!partial) {
        buckets.spoil(minute, minute + MINUTE_MS);
        continue;
      }
      const stat = partial.get(field);
      if (stat) buckets.add(minute, stat);
    }
    return buckets.answer(field, step);
  });
}

export interface FieldsPage {
  data: Array<{ field: string; count: number }>;
  next?: string;
  /** Catalogue entries or partials that failed authentication (their fields' counts are short). */
  unreadable?: number;
}

const fieldsCursor = z.strictObject({ sk: z.string().regex(FIELD_SORT_KEY) });

/**
 * The fields a device's readings have had, with how many values each: the catalogue compaction keeps,
 * plus partials not compacted yet. Paged in catalogue order; a field seen only in partials is listed
 * on the page whose key span its tag falls in, so every field is listed exactly once.
 */
export async function listFields(deviceId: string, limit: number, cursor?: string): Promise<FieldsPage> {
  const position = decodeCursor(cursor, fieldsCursor);
  const tags = await tagKey({ create: false });
  return snapshot(deviceId, async () => {
    const counts = new Map<string, number>();
    let unreadable = 0;
    let lastKey: Record<string, unknown> | undefined;
    let lastSk = '';
    if (tags) {
      for await (const page of queryPages({
        TableName: config.AGGREGATES_TABLE,
        KeyConditionExpression: 'deviceId = :device AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':device': deviceId, ':prefix': 'f#' },
        ConsistentRead: true,
        Limit: limit,
        ...(position ? { ExclusiveStartKey: { deviceId, sk: position.sk } } : {}),
      })) {
        for (const item of page.items as unknown as SealedItem[]) {
          lastSk = item.sk;
          const entry = await openOrReport(item, (key) => openJson(key, item, catalogueShape));
          if (!entry) unreadable += 1;
          else counts.set(entry.field, entry.count);
        }
        lastKey = page.lastKey;
        break;
      }
    }
    const lower = position?.sk ?? '';
    const inThisPage = (field: string) => {
      if (!tags) return true;
      const sk = fieldSortKey(fieldTag(tags, deviceId, field));
      return sk > lower && (lastKey === undefined || sk <= lastSk);
    };
    for (const item of await livePartials(deviceId, partialRange(0, 10 ** 13))) {
      const partial = await openOrReport(item, (key) => openJson(key, item, partialShape));
      if (!partial) {
        unreadable += 1;
        continue;
      }
      for (const [field, stat] of partial)
        if (counts.has(field) || inThisPage(field)) counts.set(field, (counts.get(field) ?? 0) + stat[0]);
    }
    const result: FieldsPage = {
      data: [...counts]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([field, count]) => ({ field, count })),
    };
    const next = lastKey ? encodeCursor({ sk: lastSk }) : undefined;
    if (next) result.next = next;
    if (unreadable > 0) result.unreadable = unreadable;
    return result;
  });
}
