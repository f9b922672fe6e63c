import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { S3Event } from 'aws-lambda';
import { type S3Emulator, startS3Emulator } from '../../scripts/local/emulators';
import type { InvokeResult } from '../../scripts/local/invoker';
import { freePort } from '../../scripts/local/ports';
import { type OnFailure, onFailureRecord, S3Notifications } from '../../scripts/local/s3-notifications';
import { eventually } from '../support/sqs';

describe('S3 notifications (emulated S3 → Lambda) against the S3 emulator', () => {
  let emulator: S3Emulator;
  let s3: S3Client;
  const bucket = 'notify-test';

  beforeAll(async () => {
    emulator = await startS3Emulator(await freePort(), mkdtempSync(path.join(os.tmpdir(), 's3-notify-')));
    s3 = new S3Client({
      endpoint: emulator.endpoint,
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  });

  afterAll(async () => {
    s3.destroy();
    await emulator.stop();
  });

  function subscribe(
    invoke: (event: S3Event) => Promise<InvokeResult>,
    retryDelaysMs = [10, 10],
    onFailure?: OnFailure,
  ) {
    const notifications = new S3Notifications(
      [{ functionKey: 'process', bucket, event: 's3:ObjectCreated:*', prefix: 'uploads/' }],
      (_key, event) => invoke(event as S3Event),
      () => undefined,
      'us-east-1',
      retryDelaysMs,
      onFailure,
    );
    emulator.onObjectEvent((event) => notifications.handle(event));
    return notifications;
  }

  it('invokes the function once per created object under the prefix, with S3-style URL-encoded keys', async () => {
    const events: S3Event[] = [];
    const notifications = subscribe(async (event) => {
      events.push(event);
      return { ok: true, payload: null };
    });
    const keys = ['uploads/plain.jpg', 'uploads/my photo+1.jpg', 'uploads/naïve café/ü (2).png'];
    for (const key of [...keys, 'thumbnails/ignored.jpg', 'other/x.jpg']) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.from('x') }));
    }
    await eventually(async () => expect(events).toHaveLength(3));
    notifications.close();

    const records = events.map((event) => {
      expect(event.Records).toHaveLength(1);
      return event.Records[0];
    });
    expect(records.map((record) => record?.s3.object.key)).toEqual([
      'uploads/plain.jpg',
      'uploads/my+photo%2B1.jpg',
      'uploads/na%C3%AFve+caf%C3%A9/%C3%BC+%282%29.png',
    ]);
    // Decoding as AWS documents it gives the original key back.
    const decoded = records.map((record) =>
      decodeURIComponent((record?.s3.object.key ?? '').replace(/\+/g, ' ')),
    );
    expect(decoded).toEqual(keys);
    expect(records[0]).toMatchObject({
      eventSource: 'aws:s3',
      eventName: 'ObjectCreated:Put',
      s3: { bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` }, object: { size: 1 } },
    });
  });

  it('retries a failed invocation twice, like Lambda async invocation, then gives up', async () => {
    let attempts = 0;
    const notifications = subscribe(async () => {
      attempts += 1;
      return { ok: false, error: 'handler crashed' };
    });
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'uploads/fails.jpg', Body: Buffer.from('x') }));
    await eventually(async () => expect(attempts).toBe(3));
    await notifications.settle();
    notifications.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(attempts).toBe(3);
  });

  it('after the last retry, hands the event to the function’s on-failure destination', async () => {
    let attempts = 0;
    const failed: Array<{ functionKey: string; event: S3Event; error: string; attempts: number }> = [];
    const notifications = subscribe(
      async () => {
        attempts += 1;
        return { ok: false, error: 'S3 throttled' };
      },
      [10, 10],
      async (functionKey, event, error, count) => {
        failed.push({ functionKey, event, error, attempts: count });
        return true;
      },
    );
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'uploads/lost.jpg', Body: Buffer.from('x') }));
    await eventually(async () => expect(failed).toHaveLength(1));
    await notifications.settle();
    notifications.close();
    expect(attempts).toBe(3);
    expect(failed[0]).toMatchObject({ functionKey: 'process', error: 'S3 throttled', attempts: 3 });
    expect(failed[0]?.event.Records[0]?.s3.object.key).toBe('uploads/lost.jpg');
  });

  it('builds the record Lambda sends to an on-failure destination', () => {
    const record = onFailureRecord(
      'arn:aws:lambda:us-east-1:000000000000:function:f',
      { Records: [] },
      'boom',
      3,
    );
    expect(record).toMatchObject({
      version: '1.0',
      requestContext: {
        functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST',
        condition: 'RetriesExhausted',
        approximateInvokeCount: 3,
      },
      requestPayload: { Records: [] },
      responseContext: { functionError: 'Unhandled' },
      responsePayload: { errorMessage: 'boom' },
    });
  });
});
