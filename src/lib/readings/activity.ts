import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../aws/dynamo';
import { queryPages } from '../aws/paging';
import { config } from '../config';
import { arrivalLowerBound, arrivalsPartition } from './rows';

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
    ExpressionAttributeNames: { '#rows': 'rows' },
    ExpressionAttributeValues: {
      ':arrivals': arrivalsPartition(deviceId),
      ':from': arrivalLowerBound(Math.max(0, fromMs)),
      ':to': arrivalUpperBound(toMs),
    },
    ProjectionExpression: 'sk, #rows',
  })) {
    for (const item of items as Array<{ sk: string; rows?: string[] }>) {
      arrivals.push({ at: arrivalMs(item.sk), readings: item.rows?.length ?? 0 });
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
 * Largest relative time stored for the device (null when it has none): one key-only Query, no
 * decryption, so the jobs that call it do not load the key machinery.
 */
export async function maxRelativeTime(deviceId: string): Promise<number | null> {
  const { Items = [] } = await dynamo.send(
    new QueryCommand({
      TableName: config.READINGS_TABLE,
      KeyConditionExpression: 'deviceId = :device',
      ExpressionAttributeValues: { ':device': deviceId },
      ProjectionExpression: 'rt',
      ScanIndexForward: false,
      Limit: 1,
    }),
  );
  const item = Items[0] as { rt: number } | undefined;
  return item ? item.rt : null;
}
