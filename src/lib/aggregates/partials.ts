import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { mapConcurrent } from '../aws/concurrency';
import { dynamo, writtenIf } from '../aws/dynamo';
import { defaultRetryPolicy, isTransient, retryRemaining } from '../aws/retry';
import { config } from '../config';
import { logger } from '../logger';
import { count, MetricName } from '../observability';
import { expiresAt } from '../readings/rows';
import { DAY_MS } from './buckets';
import { partialSortKey } from './keys';
import type { SealedPartials } from './message-field';
import { encodePartial, sealJson } from './sealed';
import { minutePartials, type ReadingForAggregates } from './stats';

// Minute partials travel from ingest (the only place the plaintext is) to the consumer already
// sealed, one per minute, each sealed exactly as the item it becomes: the consumer stores them
// without opening anything, and nothing readable reaches SQS.

/**
 * The sealed partials of a request's readings that have no db_password (those with one are never
 * aggregated: their content is readable only with the password). Undefined when there are none.
 */
export function sealPartials(
  dataKey: Buffer,
  header: { deviceId: string; batchId: string; arrivedAt: number },
  readings: ReadonlyArray<ReadingForAggregates & { password: string | undefined }>,
): SealedPartials | undefined {
  const { partials, dropped } = minutePartials(
    readings.filter((reading) => reading.password === undefined),
    header.arrivedAt,
  );
  if (dropped > 0) logger.warn('fields over the per-minute limit not aggregated', { dropped });
  if (partials.size === 0) return undefined;
  return [...partials].map(([minute, partial]) => {
    const { iv, ct } = sealJson(
      dataKey,
      header.deviceId,
      partialSortKey(minute, header.batchId),
      encodePartial(partial),
    );
    return { m: minute, iv: iv.toString('base64'), ct: ct.toString('base64') };
  });
}

/** What the consumer needs of a message to store its partials. */
export interface PartialsOf {
  messageId: string;
  deviceId: string;
  batchId: string;
  arrivedAt: number;
  keyId: string;
  agg?: SealedPartials;
}

interface PartialWrite {
  item: Record<string, unknown>;
  messageIds: string[];
}

/**
 * Stores the partials of stored messages, one item per (message, minute), never over a tombstone
 * (`attribute_not_exists(c)`): a message delivered again after its partials were compacted adds
 * nothing, and before that it rewrites the same item. Returns the ids of messages whose partials
 * could not all be written (they are redelivered, never silently short).
 */
export async function storePartials(
  messages: readonly PartialsOf[],
  deadline?: number,
): Promise<Set<string>> {
  // A tombstone lives AGGREGATES_PARTIAL_RETENTION_DAYS after its message's arrival; a message that
  // old could be counted a second time, so its readings are stored without aggregates.
  const cutoff = Date.now() - (config.AGGREGATES_PARTIAL_RETENTION_DAYS - 1) * DAY_MS;
  const byKey = new Map<string, PartialWrite>();
  let late = 0;
  for (const message of messages) {
    if (!message.agg) continue;
    if (message.arrivedAt < cutoff) {
      late += 1;
      continue;
    }
    const retention = expiresAt(message.arrivedAt, config.AGGREGATES_PARTIAL_RETENTION_DAYS);
    for (const sealed of message.agg) {
      const sk = partialSortKey(sealed.m, message.batchId);
      const existing = byKey.get(`${message.deviceId}\n${sk}`);
      if (existing) {
        existing.messageIds.push(message.messageId);
        continue;
      }
      byKey.set(`${message.deviceId}\n${sk}`, {
        messageIds: [message.messageId],
        item: {
          deviceId: message.deviceId,
          sk,
          pending: message.deviceId,
          kid: message.keyId,
          at: message.arrivedAt,
          iv: Buffer.from(sealed.iv, 'base64'),
          ct: Buffer.from(sealed.ct, 'base64'),
          expiresAt: retention,
        },
      });
    }
  }
  if (late > 0) {
    logger.warn('messages too old to aggregate safely', { messages: late });
    count(MetricName.AggregatesSkippedLate, late);
  }
  const failed: PartialWrite[] = [];
  const left = await retryRemaining(
    [...byKey.values()],
    async (pending, abortSignal) => {
      const outcomes = await mapConcurrent(pending, 8, async (write) => {
        try {
          // False: a tombstone is there (already compacted): nothing to do.
          await writtenIf(
            dynamo.send(
              new PutCommand({
                TableName: config.AGGREGATES_TABLE,
                Item: write.item,
                ConditionExpression: 'attribute_not_exists(c)',
              }),
              { abortSignal },
            ),
          );
          return undefined;
        } catch (error) {
          if (isTransient(error)) return write;
          logger.error('aggregate partial not written', { errorName: (error as Error).name });
          failed.push(write);
          return undefined;
        }
      });
      return outcomes.filter((write): write is PartialWrite => write !== undefined);
    },
    { ...defaultRetryPolicy, deadline },
  );
  return new Set([...failed, ...left].flatMap((write) => write.messageIds));
}
