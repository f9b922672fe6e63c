import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { S3Event } from 'aws-lambda';
import sharp from 'sharp';
import sampleEvent from '../../events/s3-image-uploaded.json';
import { encodeS3EventKey } from '../../scripts/local/s3-notifications';
import type { ImageRecord } from '../../src/lib/images/model';
import {
  bucket,
  cameraJpeg,
  dynamo,
  jpeg,
  labelRowsOf,
  listKeys,
  pixelBomb,
  png,
  putUpload,
  readObject,
  s3,
  svg,
  table,
  truncatedJpeg,
  uniqueKey,
} from '../support/images';
import { runJob } from '../support/jobs';
import { eventually } from '../support/sqs';

// Objects put straight into the local S3 (as an operator or a presigned upload would): the emulated
// S3 notification invokes the processing function through serverless offline.

async function record(key: string): Promise<ImageRecord | undefined> {
  const { Item } = await dynamo.send(
    new GetCommand({ TableName: table(), Key: { pk: `image#${key}`, sk: 'image' }, ConsistentRead: true }),
  );
  return Item as ImageRecord | undefined;
}

const processed = (key: string, predicate: (found: ImageRecord) => boolean = () => true) =>
  eventually(
    async () => {
      const found = await record(key);
      if (!found || found.status === 'pending' || !predicate(found))
        throw new Error(`${key} not processed yet`);
      return found;
    },
    { timeoutMs: 20_000 },
  );

describe('image processing (S3 upload → processor → S3 thumbnails + DynamoDB)', () => {
  it('makes thumbnails with the right dimensions, metadata and labels for an upload', async () => {
    const key = uniqueKey('camera');
    const body = await cameraJpeg(1600, 1200);
    await putUpload(key, body);
    const image = await processed(key);
    expect(image).toMatchObject({
      key,
      owner: 'admin',
      status: 'ready',
      format: 'jpeg',
      width: 1200,
      height: 1600,
      bytes: body.length,
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      capturedAt: '2025-06-01T12:34:56+02:00',
      dominantColour: expect.stringMatching(/^#[0-9a-f]{6}$/),
      labeller: 'local',
    });
    expect(image.labels?.map((label) => label.name)).toEqual(expect.arrayContaining(['red', 'portrait']));
    const stored = await listKeys(`thumbnails/${key}/`);
    expect(stored).toHaveLength(6);
    expect(image.thumbnails?.map((thumbnail) => thumbnail.objectKey).sort()).toEqual(stored);
    for (const thumbnail of image.thumbnails ?? []) {
      const metadata = await sharp(await readObject(thumbnail.objectKey)).metadata();
      expect([metadata.format, metadata.width, metadata.height]).toEqual([
        thumbnail.format,
        thumbnail.width,
        thumbnail.height,
      ]);
      expect(Math.max(metadata.width ?? 0, metadata.height ?? 0)).toBe(thumbnail.size);
    }
    expect(image.thumbnails?.map((thumbnail) => thumbnail.size)).toEqual([1024, 1024, 512, 512, 128, 128]);
  });

  it('handles keys with spaces, unicode and a literal + (URL-encoded in the S3 event)', async () => {
    const key = `Front door café (${Date.now()})+ü`;
    await putUpload(key, await png(200, 150));
    const image = await processed(key);
    expect(image.status).toBe('ready');
    expect(await listKeys(`thumbnails/${key}/`)).toHaveLength(4);
  });

  it('re-processing the same key replaces thumbnails and removes stale label rows', async () => {
    const key = uniqueKey('reupload');
    await putUpload(key, await jpeg(800, 400, { main: '#d02020', accent: '#d02020' }));
    const first = await processed(key);
    expect(first.labels?.map((label) => label.name)).toEqual(expect.arrayContaining(['red', 'landscape']));
    const oldThumbnails = await listKeys(`thumbnails/${key}/`);

    await putUpload(key, await png(300, 600, { main: '#2040d0', accent: '#2040d0' }));
    const second = await processed(key, (found) => found.version > first.version);
    const names = second.labels?.map((label) => label.name) ?? [];
    expect(names).toEqual(expect.arrayContaining(['blue', 'portrait']));
    expect(names).not.toContain('red');
    expect(second.format).toBe('png');
    expect(await labelRowsOf(key, ['red', 'landscape', 'blue', 'portrait'])).toEqual(['blue', 'portrait']);
    const newThumbnails = await listKeys(`thumbnails/${key}/`);
    // 300×600: 128, 512 and its own 600, each in WebP and JPEG.
    expect(newThumbnails).toHaveLength(6);
    expect(newThumbnails.filter((objectKey) => oldThumbnails.includes(objectKey))).toEqual([]);
  });

  it.each([
    ['a text file named .jpg', 'notes.jpg', async () => Buffer.from('this is not a photo\n'), 'not-an-image'],
    ['a truncated JPEG', 'cut.jpg', truncatedJpeg, 'corrupt'],
    ['a zero-byte object', 'empty.jpg', async () => Buffer.alloc(0), 'empty'],
    ['a pixel bomb', 'bomb.png', pixelBomb, 'too-many-pixels'],
    ['an unsupported format', 'vector.svg', async () => svg(), 'unsupported-format'],
  ])('rejects %s with a reason, no thumbnails, no retries', async (_name, suffix, make, code) => {
    const key = uniqueKey('bad') + suffix;
    await putUpload(key, await make());
    const image = await processed(key);
    expect(image).toMatchObject({ status: 'rejected', rejection: { code, message: expect.any(String) } });
    expect(image.thumbnails).toEqual([]);
    expect(image.labels).toEqual([]);
    expect(await listKeys(`thumbnails/${key}/`)).toEqual([]);
    // A rejected original does not stay in the bucket (deleted right after the record is written).
    await eventually(async () => expect(await listKeys(`uploads/${key}`)).toEqual([]));
    // Processed once: a retry would have bumped the version.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect((await record(key))?.version).toBe(1);
  });

  it('processes every record of one event; skips records that are not uploads or whose object is gone', async () => {
    const keys = [uniqueKey('multi-a'), uniqueKey('multi b')];
    const gone = uniqueKey('gone');
    for (const key of keys) await putUpload(key, await png(200, 100));
    for (const key of keys) await processed(key);
    const template = sampleEvent.Records[0] as S3Event['Records'][number];
    const recordFor = async (objectKey: string, eventName = 'ObjectCreated:Put') => {
      const head = await s3
        .send(new HeadObjectCommand({ Bucket: bucket(), Key: objectKey }))
        .catch(() => undefined);
      return {
        ...template,
        eventName,
        s3: {
          ...template.s3,
          bucket: { ...template.s3.bucket, name: bucket(), arn: `arn:aws:s3:::${bucket()}` },
          object: {
            key: encodeS3EventKey(objectKey),
            size: head?.ContentLength ?? 0,
            eTag: (head?.ETag ?? '').replace(/"/g, ''),
            // Later than the notification that already processed these objects.
            sequencer: 'FFFFFFFFFFFFFFFF',
          },
        },
      };
    };
    const event: S3Event = {
      Records: [
        await recordFor(`uploads/${keys[0]}`),
        await recordFor('thumbnails/not-an-upload.webp'),
        await recordFor(`uploads/${keys[1]}`),
        await recordFor(`uploads/${keys[0]}`, 'ObjectRemoved:Delete'),
        // Deleted before its event was processed: nothing to do, nothing created.
        await recordFor(`uploads/${gone}`),
      ],
    };
    const lambda = new LambdaClient({ endpoint: process.env.SENSORCLOUD_LAMBDA_URL, maxAttempts: 1 });
    const response = await lambda.send(
      new InvokeCommand({
        FunctionName: 'sensorcloud-local-process-image',
        Payload: Buffer.from(JSON.stringify(event)),
      }),
    );
    lambda.destroy();
    expect(response.FunctionError).toBeUndefined();
    expect(JSON.parse(Buffer.from(response.Payload ?? new Uint8Array()).toString('utf8'))).toEqual({
      records: 5,
      outcomes: { ready: 2, skipped: 2, missing: 1 },
    });
    expect(await record(gone)).toBeUndefined();
    for (const key of keys) expect((await record(key))?.version).toBe(2);
  });

  it('rejects an object larger than MAX_UPLOAD_BYTES unread, dropping the thumbnails and labels it had', async () => {
    const key = uniqueKey('huge');
    await putUpload(key, await png(300, 200));
    const before = await processed(key);
    expect(before.status).toBe('ready');
    expect(await listKeys(`thumbnails/${key}/`)).toHaveLength(4);
    const template = sampleEvent.Records[0] as S3Event['Records'][number];
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket(), Key: `uploads/${key}` }));
    // As S3 would report an object of 30 MB (the event's size is trusted: nothing is downloaded).
    const event: S3Event = {
      Records: [
        {
          ...template,
          s3: {
            ...template.s3,
            bucket: { ...template.s3.bucket, name: bucket() },
            object: {
              key: encodeS3EventKey(`uploads/${key}`),
              size: 30_000_000,
              eTag: (head.ETag ?? '').replace(/"/g, ''),
              sequencer: 'FFFFFFFFFFFFFFFF',
            },
          },
        },
      ],
    };
    const lambda = new LambdaClient({ endpoint: process.env.SENSORCLOUD_LAMBDA_URL, maxAttempts: 1 });
    const response = await lambda.send(
      new InvokeCommand({
        FunctionName: 'sensorcloud-local-process-image',
        Payload: Buffer.from(JSON.stringify(event)),
      }),
    );
    lambda.destroy();
    expect(JSON.parse(Buffer.from(response.Payload ?? new Uint8Array()).toString('utf8'))).toEqual({
      records: 1,
      outcomes: { rejected: 1 },
    });
    const after = await record(key);
    expect(after).toMatchObject({
      status: 'rejected',
      rejection: { code: 'too-large' },
      thumbnails: [],
      labels: [],
    });
    expect(await listKeys(`thumbnails/${key}/`)).toEqual([]);
    await eventually(async () => expect(await listKeys(`uploads/${key}`)).toEqual([]));
    expect(
      await labelRowsOf(
        key,
        (before.labels ?? []).map((label) => label.name),
      ),
    ).toEqual([]);
  });

  it('records every outcome for the stats rollup, once per upload, and the rollup counts them', async () => {
    const good = uniqueKey('counted');
    const bad = `${uniqueKey('counted-bad')}.jpg`;
    await putUpload(good, await png(64, 64));
    await putUpload(bad, Buffer.from('not an image at all'));
    const images = [await processed(good), await processed(bad)];
    const minuteOf = (iso: string | undefined) => Math.floor(Date.parse(iso ?? '') / 60_000) * 60_000;
    const outcomesOf = async (key: string, minute: number) => {
      const { Items = [] } = await dynamo.send(
        new QueryCommand({
          TableName: process.env.STATS_TABLE,
          KeyConditionExpression: 'series = :series AND begins_with(#at, :prefix)',
          ExpressionAttributeNames: { '#at': 'at' },
          ExpressionAttributeValues: {
            ':series': `images#${String(minute).padStart(13, '0')}`,
            ':prefix': `uploads/${key}#`,
          },
        }),
      );
      return Items.map((item) => item.outcome);
    };
    const [goodMinute, badMinute] = images.map((image) => minuteOf(image.processedAt));
    await eventually(async () => {
      expect(await outcomesOf(good, goodMinute ?? 0)).toEqual(['processed']);
      expect(await outcomesOf(bad, badMinute ?? 0)).toEqual(['rejected']);
    });

    type Rollup = { global: { imagesProcessed: number; imagesRejected: number } };
    const totals = { processed: 0, rejected: 0 };
    for (const minute of new Set([goodMinute, badMinute])) {
      const rollup = await runJob<Rollup>('rollup-stats', {
        intervalEnd: new Date((minute ?? 0) + 60_000).toISOString(),
      });
      totals.processed += rollup.global.imagesProcessed;
      totals.rejected += rollup.global.imagesRejected;
    }
    // Other tests upload images in the same minutes: at least these two are counted.
    expect(totals.processed).toBeGreaterThanOrEqual(1);
    expect(totals.rejected).toBeGreaterThanOrEqual(1);
  });
});
