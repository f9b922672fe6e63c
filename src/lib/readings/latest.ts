import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo, writtenIf } from '../aws/dynamo';
import { config } from '../config';
import type { LatestReading } from './messages';

// Each device's most recent reading (by reading time, reading-time.ts), kept in one small item so a
// dashboard reads it with one GetItem instead of querying readings:
//   deviceId = "<deviceId>#latest" | sk = "latest", t, rt, id
// Written by the consumer after a message's rows are stored, only forward: an older message (delivered
// late or again) leaves it unchanged.

const latestKey = (deviceId: string) => ({ deviceId: `${deviceId}#latest`, sk: 'latest' });

/** Moves the device's latest reading forward to `latest` unless it already is at or past it. */
export async function recordLatest(deviceId: string, latest: LatestReading, abortSignal?: AbortSignal) {
  await writtenIf(
    dynamo.send(
      new UpdateCommand({
        TableName: config.READINGS_TABLE,
        Key: latestKey(deviceId),
        UpdateExpression: 'SET t = :t, rt = :rt, id = :id',
        // A tie on time goes to the larger id, so two messages agree whatever order they are stored in.
        ConditionExpression: 'attribute_not_exists(t) OR t < :t OR (t = :t AND id < :id)',
        ExpressionAttributeValues: { ':t': latest.t, ':rt': latest.rt, ':id': latest.id },
      }),
      { abortSignal },
    ),
  );
}

export interface LatestReadingView {
  /** Reading time, ISO-8601 UTC. */
  time: string;
  id: string;
  relative_timestamp: number;
}

/** The device's most recent reading, or null when it has none stored. */
export async function latestReading(deviceId: string): Promise<LatestReadingView | null> {
  const { Item } = await dynamo.send(
    new GetCommand({ TableName: config.READINGS_TABLE, Key: latestKey(deviceId), ConsistentRead: true }),
  );
  if (!Item) return null;
  const { t, rt, id } = Item as LatestReading;
  return { time: new Date(t).toISOString(), id, relative_timestamp: rt };
}
