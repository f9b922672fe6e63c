import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../aws/dynamo';
import { queryPages } from '../aws/paging';
import { config } from '../config';
import { CHUNK_SPAN } from './chunks';
import { arrivalLowerBound, arrivalsPartition, decodeRelativeTime } from './rows';

// What a device sent, and when, from its arrival log (one item per stored message, keyed by arrival
// time): Queries on one partition, never a scan, and never a read of the readings themselves.

/** Arrival time (epoch ms) of an arrival item's sort key `<13-digit ms>#<batch>#<seq>`. */
const arrivalMs = (sk: string) => Number(sk.slice(0, 13));

/** Upper bound of the sort keys that arrived before `beforeMs`. */
const arrivalUpperBound = (beforeMs: number) => `${arrivalLowerBound(beforeMs - 1)}~`;

export interface ArrivalSummary {
  /** Readings per arrival, in arrival order. */
  arrivals: Array<{ at: number; readings: number }>;
}

/** Arrivals in [fromMs, toMs): their times and reading counts. */
export async function arrivalsBetween(
  deviceId: string,
  fromMs: number,
  toMs: number,
): Promise<ArrivalSummary> {
  const arrivals: ArrivalSummary['arrivals'] = [];
  if (toMs <= fromMs) return { arrivals };
  for await (const { items } of queryPages({
    TableName: config.READINGS_TABLE,
    KeyConditionExpression: 'deviceId = :arrivals AND sk BETWEEN :from AND :to',
    ExpressionAttributeNames: { '#rows': 'rows', '#n': 'n' },
    ExpressionAttributeValues: {
      ':arrivals': arrivalsPartition(deviceId),
      ':from': arrivalLowerBound(Math.max(0, fromMs)),
      ':to': arrivalUpperBound(toMs),
    },
    ProjectionExpression: 'sk, #rows, #n',
  })) {
    for (const item of items as Array<{ sk: string; rows?: string[]; n?: number }>) {
      arrivals.push({ at: arrivalMs(item.sk), readings: item.n ?? item.rows?.length ?? 0 });
    }
  }
  return { arrivals };
}

/** When the device's latest stored message arrived (before `beforeMs`), or undefined if never. */
export async function lastArrivalAt(
  deviceId: string,
  beforeMs = Date.now() + 1,
): Promise<number | undefined> {
  const { Items = [] } = await dynamo.send(
    new QueryCommand({
      TableName: config.READINGS_TABLE,
      KeyConditionExpression: 'deviceId = :arrivals AND sk <= :to',
      ExpressionAttributeValues: {
        ':arrivals': arrivalsPartition(deviceId),
        ':to': arrivalUpperBound(beforeMs),
      },
      ProjectionExpression: 'sk',
      ScanIndexForward: false,
      Limit: 1,
    }),
  );
  const item = Items[0] as { sk: string } | undefined;
  return item ? arrivalMs(item.sk) : undefined;
}

/**
 * Largest relative time stored for the device (null when it has none): key-only Queries from the top,
 * no decryption, so the jobs that call it do not load the key machinery. A chunk's key holds its
 * lowest relative time and `hi` its highest; chunks span less than a bucket, so once an item's key is a
 * bucket below the best found, nothing further down can beat it.
 */
export async function maxRelativeTime(deviceId: string): Promise<number | null> {
  let best: number | null = null;
  for await (const { items } of queryPages({
    TableName: config.READINGS_TABLE,
    KeyConditionExpression: 'deviceId = :device',
    ExpressionAttributeNames: { '#rt': 'rt', '#hi': 'hi' },
    ExpressionAttributeValues: { ':device': deviceId },
    ProjectionExpression: 'sk, #rt, #hi',
    ScanIndexForward: false,
    Limit: 25,
  })) {
    for (const item of items as Array<{ sk: string; rt?: number; hi?: number }>) {
      const lowest = decodeRelativeTime(item.sk);
      if (best !== null && lowest + CHUNK_SPAN <= best) return best;
      const highest = item.hi ?? item.rt ?? lowest;
      if (best === null || highest > best) best = highest;
    }
  }
  return best;
}
