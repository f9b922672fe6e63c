import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import sharp from 'sharp';

// Test images are made here, with sharp, for each case the processor must handle.

export const bucket = () => process.env.IMAGES_BUCKET as string;
export const table = () => process.env.IMAGES_TABLE as string;

export const s3 = new S3Client({
  forcePathStyle: true,
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});
export const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({}));

/** A two-colour picture: `main` (with `alpha`) fills it, `accent` a block in the top-left quarter. */
export function picture(
  width: number,
  height: number,
  options: { main?: string; accent?: string; alpha?: number } = {},
) {
  const { main = '#d02020', accent = '#2040d0', alpha = 1 } = options;
  const block = { width: Math.max(1, Math.floor(width / 4)), height: Math.max(1, Math.floor(height / 4)) };
  const background = { ...hexColour(main), alpha };
  return sharp({ create: { width, height, channels: 4, background } }).composite([
    {
      input: { create: { ...block, channels: 4, background: accent } },
      left: 0,
      top: 0,
    },
  ]);
}

function hexColour(hex: string) {
  const value = Number.parseInt(hex.slice(1), 16);
  return { r: (value >> 16) & 255, g: (value >> 8) & 255, b: value & 255 };
}

export const jpeg = (width: number, height: number, options?: Parameters<typeof picture>[2]) =>
  picture(width, height, options).jpeg({ quality: 85 }).toBuffer();

export const png = (width: number, height: number, options?: Parameters<typeof picture>[2]) =>
  picture(width, height, options).png().toBuffer();

/** A JPEG stored landscape with EXIF orientation 6 (display rotated 90°) and a capture time. */
export async function cameraJpeg(width: number, height: number): Promise<Buffer> {
  const stored = await picture(width, height).jpeg().toBuffer();
  return sharp(stored)
    .withMetadata({ orientation: 6 })
    .withExifMerge({
      IFD0: { Make: 'sensorcloud-test', Model: 'cam-1' },
      IFD2: { DateTimeOriginal: '2025:06:01 12:34:56', OffsetTimeOriginal: '+02:00' },
    } as never)
    .jpeg()
    .toBuffer();
}

/** The first half of a detailed JPEG: the header is intact, the pixel data ends early. */
export async function truncatedJpeg(): Promise<Buffer> {
  const full = await sharp({
    create: {
      width: 800,
      height: 600,
      channels: 3,
      background: '#000000',
      noise: { type: 'gaussian', mean: 128, sigma: 40 },
    },
  })
    .jpeg()
    .toBuffer();
  return full.subarray(0, Math.floor(full.length / 2));
}

/** A real decompression bomb: a few hundred KB of PNG that decodes to 48 MP (144 MB of pixels). */
export const pixelBomb = () =>
  sharp({ create: { width: 8000, height: 6000, channels: 3, background: '#00ff00' } })
    .png({ compressionLevel: 9 })
    .toBuffer();

/** SVG is an image sharp can read, but not a format the processor accepts. */
export const svg = () =>
  Buffer.from(
    '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="red"/></svg>',
  );

export async function putUpload(key: string, body: Buffer, contentType = 'application/octet-stream') {
  await s3.send(
    new PutObjectCommand({ Bucket: bucket(), Key: `uploads/${key}`, Body: body, ContentType: contentType }),
  );
}

export async function readObject(objectKey: string): Promise<Buffer> {
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket(), Key: objectKey }));
  return Buffer.from(await (response.Body?.transformToByteArray() ?? Promise.resolve(new Uint8Array())));
}

export async function listKeys(prefix: string): Promise<string[]> {
  const response = await s3.send(new ListObjectsV2Command({ Bucket: bucket(), Prefix: prefix }));
  return (response.Contents ?? []).map((object) => object.Key ?? '').sort();
}

/** Every label row of an image (base table), to prove stale ones are gone. */
export async function labelRowsOf(key: string, labels: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const label of labels) {
    const { Items = [] } = await dynamo.send(
      new QueryCommand({
        TableName: table(),
        KeyConditionExpression: 'pk = :pk AND sk = :sk',
        ExpressionAttributeValues: { ':pk': `label#${label}`, ':sk': key },
      }),
    );
    if (Items.length) found.push(label);
  }
  return found;
}

export const uniqueKey = (name: string) =>
  `${name}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
