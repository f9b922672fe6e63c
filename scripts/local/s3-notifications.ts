import { randomUUID } from 'node:crypto';
import type { S3Event, S3EventRecord } from 'aws-lambda';
import type { Invoker } from './invoker';
import type { S3EventConfig } from './service-config';

export interface S3Subscription {
  functionKey: string;
  bucket: string;
  /** e.g. `s3:ObjectCreated:*` */
  event: string;
  prefix?: string;
  suffix?: string;
}

/** Keys in S3 notifications are URL-encoded the way S3 does it: spaces as '+', '/' kept. */
export function encodeS3EventKey(key: string): string {
  return encodeURIComponent(key)
    .replace(/[!'()*~]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+')
    .replace(/%2F/g, '/');
}

export function subscriptionsFrom(
  functions: Record<string, { events: Array<{ s3?: S3EventConfig | string }> }>,
  bucketsByReference: Record<string, { name: string }>,
): S3Subscription[] {
  const subscriptions: S3Subscription[] = [];
  for (const [functionKey, fn] of Object.entries(functions)) {
    for (const { s3 } of fn.events) {
      if (!s3) continue;
      const config: S3EventConfig = typeof s3 === 'string' ? { bucket: s3, event: 's3:ObjectCreated:*' } : s3;
      const bucket = bucketsByReference[config.bucket]?.name ?? config.bucket;
      const rules = config.rules ?? [];
      subscriptions.push({
        functionKey,
        bucket,
        event: config.event ?? 's3:ObjectCreated:*',
        prefix: rules.find((rule) => rule.prefix !== undefined)?.prefix,
        suffix: rules.find((rule) => rule.suffix !== undefined)?.suffix,
      });
    }
  }
  return subscriptions;
}

function eventMatches(pattern: string, eventName: string): boolean {
  const wanted = pattern.replace(/^s3:/, '');
  return wanted.endsWith('*') ? eventName.startsWith(wanted.slice(0, -1)) : eventName === wanted;
}

interface EmulatorRecord {
  eventName: string;
  eventTime: string;
  s3: { bucket: { name: string }; object: { key: string; size?: number; eTag?: string; sequencer?: string } };
}

/** Rebuilds the emulator's record in the shape S3 really sends (encoded key, real ARN). */
export function toS3EventRecord(
  record: EmulatorRecord,
  subscription: S3Subscription,
  region: string,
): S3EventRecord {
  const { bucket, object } = record.s3;
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: region,
    eventTime: record.eventTime,
    eventName: record.eventName,
    userIdentity: { principalId: 'AWS:LOCAL' },
    requestParameters: { sourceIPAddress: '127.0.0.1' },
    responseElements: { 'x-amz-request-id': 'LOCAL', 'x-amz-id-2': 'LOCAL' },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: `${subscription.functionKey}-${subscription.event}`,
      bucket: {
        name: bucket.name,
        ownerIdentity: { principalId: 'LOCAL' },
        arn: `arn:aws:s3:::${bucket.name}`,
      },
      object: {
        key: encodeS3EventKey(object.key),
        size: object.size ?? 0,
        eTag: object.eTag ?? '',
        sequencer: object.sequencer ?? Date.now().toString(16).toUpperCase(),
      },
    },
  };
}

/** What Lambda sends to an on-failure destination when an asynchronous invocation ran out of retries. */
export function onFailureRecord(functionArn: string, event: unknown, error: string, attempts: number) {
  return {
    version: '1.0',
    timestamp: new Date().toISOString(),
    requestContext: {
      requestId: randomUUID(),
      functionArn: `${functionArn}:$LATEST`,
      condition: 'RetriesExhausted',
      approximateInvokeCount: attempts,
    },
    requestPayload: event,
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    responsePayload: { errorMessage: error },
  };
}

/** Delivers a failed event to the function's on-failure destination; false when it has none. */
export type OnFailure = (
  functionKey: string,
  event: S3Event,
  error: string,
  attempts: number,
) => Promise<boolean>;

/**
 * S3 → Lambda notifications, emulated: each created object under a subscription's prefix/suffix invokes
 * the function asynchronously with a one-record event; like Lambda's async invocation, a failed
 * invocation is retried twice, then the event goes to the function's on-failure destination (if it
 * has one; otherwise it is dropped and logged).
 */
export class S3Notifications {
  private pending = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly subscriptions: S3Subscription[],
    private readonly invoke: Invoker,
    private readonly log: (message: string) => void,
    private readonly region: string,
    private readonly retryDelaysMs: number[] = [1_000, 2_000],
    private readonly onFailure: OnFailure = async () => false,
  ) {}

  /** Feed with the emulator's `event` emissions ({Records: [...]}). */
  handle(emitted: { Records: EmulatorRecord[] }): void {
    if (this.closed) return;
    for (const record of emitted.Records) {
      for (const subscription of this.subscriptions) {
        const key = record.s3.object.key;
        if (record.s3.bucket.name !== subscription.bucket) continue;
        if (!eventMatches(subscription.event, record.eventName)) continue;
        if (subscription.prefix && !key.startsWith(subscription.prefix)) continue;
        if (subscription.suffix && !key.endsWith(subscription.suffix)) continue;
        const event: S3Event = { Records: [toS3EventRecord(record, subscription, this.region)] };
        const delivery = this.deliver(subscription.functionKey, event, key).finally(() =>
          this.pending.delete(delivery),
        );
        this.pending.add(delivery);
      }
    }
  }

  private async deliver(functionKey: string, event: S3Event, key: string): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      const result = await this.invoke(functionKey, event);
      if (result.ok) return;
      const delay = this.retryDelaysMs[attempt];
      if (delay === undefined || this.closed) {
        const sent = await this.onFailure(functionKey, event, result.error, attempt + 1).catch((error) => {
          this.log(`[s3→${functionKey}] on-failure destination refused ${key}: ${(error as Error).message}`);
          return false;
        });
        this.log(
          `[s3→${functionKey}] giving up on ${key} after ${attempt + 1} attempt(s)${sent ? ', sent to its on-failure destination' : ''}: ${result.error}`,
        );
        return;
      }
      this.log(`[s3→${functionKey}] attempt ${attempt + 1} for ${key} failed, retrying: ${result.error}`);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  /** Waits for deliveries in flight (bounded by the caller). */
  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  close(): void {
    this.closed = true;
  }
}
