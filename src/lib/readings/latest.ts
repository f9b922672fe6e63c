import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../aws/dynamo';
import { config } from '../config';
import type { LatestReading } from './messages';

// Each device's most recent reading (by reading time, reading-time.ts), one cheap read for dashboards:
//   deviceId = "<deviceId>#latest" | sk = <13-digit reading time ms>#<reading id>, rt
// One small item per stored message, written with its arrival entry (after its chunks), so the newest
// is a Query of one item from the top. Plain puts, not a conditional update of one item: they batch
// with the message's other writes, a redelivery rewrites the same key, and an older message (delivered
// late or again) can never move the answer backwards.

export const latestPartition = (deviceId: string) => `${deviceId}#latest`;

/** The latest-reading item of a message. */
export const latestItem = (deviceId: string, latest: LatestReading) => ({
  deviceId: latestPartition(deviceId),
  sk: `${String(Math.max(0, latest.t)).padStart(13, '0')}#${latest.id}`,
  rt: latest.rt,
});

export interface LatestReadingView {
  /** Reading time, ISO-8601 UTC. */
  time: string;
  id: string;
  relative_timestamp: number;
}

/** The device's most recent reading, or null when it has none stored. */
export async function latestReading(deviceId: string): Promise<LatestReadingView | null> {
  const { Items = [] } = await dynamo.send(
    new QueryCommand({
      TableName: config.READINGS_TABLE,
      KeyConditionExpression: 'deviceId = :latest',
      ExpressionAttributeValues: { ':latest': latestPartition(deviceId) },
      ScanIndexForward: false,
      Limit: 1,
    }),
  );
  const item = Items[0] as { sk: string; rt: number } | undefined;
  if (!item) return null;
  const separator = item.sk.indexOf('#');
  return {
    time: new Date(Number(item.sk.slice(0, separator))).toISOString(),
    id: item.sk.slice(separator + 1),
    relative_timestamp: item.rt,
  };
}
