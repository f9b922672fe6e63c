import { createHash } from 'node:crypto';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo, writtenIf } from '../aws/dynamo';
import { config } from '../config';
import { AppError, ErrorCode } from '../errors';

// Idempotency-Key: a retried request must store its readings exactly once. Its reading ids already
// derive from the key; what else must repeat is its arrival time (the arrival log's key, which
// "seconds/{n}" and the stats rollup read). The first request records it here, with a hash of its
// body's shape; a retry with the same key and body re-sends the same message (same ids, same arrival key:
// the consumer overwrites, nothing is added), whether or not the first one got through.

export class IdempotencyKeyReused extends AppError {
  constructor() {
    super(
      422,
      ErrorCode.ValidationError,
      'Idempotency-Key: already used with a different request body; use a new key for a new request',
      { field: 'Idempotency-Key' },
    );
  }
}

/**
 * What tells two requests apart without storing anything derived from their content (a hash of a
 * small reading could be reversed by trying values): a hash of how many readings and their times,
 * which are stored in plaintext anyway.
 */
export function requestFingerprint(
  readings: ReadonlyArray<{ relativeTime: number; interrogatorTime: number }>,
): string {
  const hash = createHash('sha256').update(String(readings.length));
  for (const reading of readings) hash.update(`;${reading.relativeTime},${reading.interrogatorTime}`);
  return hash.digest('base64url');
}

/** The arrival time a keyed request keeps across retries (its first attempt's). */
export async function arrivalTimeFor(
  batchId: string,
  deviceId: string,
  fingerprint: string,
  now: number,
): Promise<number> {
  const record = {
    batchId,
    deviceId,
    fingerprint,
    arrivedAt: now,
    expiresAt: Math.floor(now / 1000) + config.IDEMPOTENCY_TTL_SECONDS,
  };
  const first = await writtenIf(
    dynamo.send(
      new PutCommand({
        TableName: config.IDEMPOTENCY_TABLE,
        Item: record,
        // TTL deletes lazily: a record past its expiry counts as gone.
        ConditionExpression: 'attribute_not_exists(batchId) OR expiresAt < :now',
        ExpressionAttributeValues: { ':now': Math.floor(now / 1000) },
      }),
    ),
  );
  if (first) return now;
  const { Item } = await dynamo.send(
    new GetCommand({ TableName: config.IDEMPOTENCY_TABLE, Key: { batchId }, ConsistentRead: true }),
  );
  // Expired between the two calls: this request is a first one again.
  if (!Item) return now;
  if (Item.fingerprint !== fingerprint || Item.deviceId !== deviceId) throw new IdempotencyKeyReused();
  return Item.arrivedAt as number;
}
