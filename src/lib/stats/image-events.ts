import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../aws/dynamo';
import { queryPages } from '../aws/paging';
import { config } from '../config';
import { imageMinuteSeries, retentionExpiry } from './keys';

// Image outcomes for the rollup: one item per processed upload (object + S3 sequencer) in the minute
// it was first processed, so a retried S3 event overwrites its own item instead of counting twice,
// while two uploads of one key in the same minute count as two.
export type ImageOutcome = 'processed' | 'rejected';

const minuteOf = (ms: number) => Math.floor(ms / 60_000) * 60_000;

/** Called by image processing once per upload it finishes (stats table write access needed). */
export async function recordImageOutcome(
  uploadIdentity: string,
  outcome: ImageOutcome,
  at = Date.now(),
): Promise<void> {
  await dynamo.send(
    new PutCommand({
      TableName: config.STATS_TABLE,
      Item: {
        series: imageMinuteSeries(minuteOf(at)),
        at: uploadIdentity,
        outcome,
        expiresAt: retentionExpiry(at, config.STATS_RETENTION_DAYS),
      },
    }),
  );
}

/** Images processed and rejected in [fromMs, toMs), at minute resolution. */
export async function imageOutcomesBetween(
  fromMs: number,
  toMs: number,
): Promise<{ processed: number; rejected: number }> {
  const totals = { processed: 0, rejected: 0 };
  for (let minute = minuteOf(fromMs); minute < toMs; minute += 60_000) {
    for await (const { items } of queryPages({
      TableName: config.STATS_TABLE,
      KeyConditionExpression: 'series = :series',
      ExpressionAttributeNames: { '#outcome': 'outcome' },
      ExpressionAttributeValues: { ':series': imageMinuteSeries(minute) },
      ProjectionExpression: '#outcome',
    })) {
      for (const item of items as Array<{ outcome?: ImageOutcome }>) {
        if (item.outcome === 'processed' || item.outcome === 'rejected') totals[item.outcome] += 1;
      }
    }
  }
  return totals;
}
