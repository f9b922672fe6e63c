import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import type { PresignedPost } from '@aws-sdk/s3-presigned-post';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { s3, s3Presigner } from '../aws/s3';
import { config } from '../config';

const BUCKET = () => config.IMAGES_BUCKET;

export type FetchedObject =
  | { status: 'ok'; body: Buffer; etag: string }
  | { status: 'missing' }
  | { status: 'too-large'; bytes: number };

const unquote = (etag: string | undefined) => (etag ?? '').replace(/^"|"$/g, '');

/** Reads an object whole, unless S3 says it is larger than `maxBytes` (then nothing is downloaded). */
export async function fetchObject(objectKey: string, maxBytes: number): Promise<FetchedObject> {
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: BUCKET(), Key: objectKey }));
    const bytes = response.ContentLength ?? 0;
    if (bytes > maxBytes) {
      await response.Body?.transformToWebStream()
        .cancel()
        .catch(() => undefined);
      return { status: 'too-large', bytes };
    }
    const body = Buffer.from((await response.Body?.transformToByteArray()) ?? new Uint8Array());
    return { status: 'ok', body, etag: unquote(response.ETag) };
  } catch (error) {
    if (error instanceof NoSuchKey || (error as Error).name === 'NoSuchKey') return { status: 'missing' };
    throw error;
  }
}

export async function objectExists(objectKey: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: BUCKET(), Key: objectKey }));
    return true;
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if ((error as Error).name === 'NotFound' || status === 404) return false;
    throw error;
  }
}

export async function putObject(
  objectKey: string,
  body: Buffer,
  contentType: string,
  cacheControl?: string,
): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: BUCKET(),
      Key: objectKey,
      Body: body,
      ContentType: contentType,
      CacheControl: cacheControl,
    }),
  );
}

export async function deleteObjects(objectKeys: readonly string[]): Promise<void> {
  for (let index = 0; index < objectKeys.length; index += 1000) {
    const batch = objectKeys.slice(index, index + 1000);
    const result = await s3.send(
      new DeleteObjectsCommand({
        Bucket: BUCKET(),
        Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
      }),
    );
    if (result.Errors?.length) throw new Error(`could not delete ${result.Errors.length} object(s)`);
  }
}

export async function listObjectKeys(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: BUCKET(), Prefix: prefix, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

/**
 * A presigned PUT with Content-Type and Content-Length in the signature: S3 refuses an upload whose
 * headers differ, so the URL writes exactly `contentLength` bytes of that type to that one object.
 */
export function presignPut(
  objectKey: string,
  contentType: string,
  contentLength: number,
  expiresIn: number,
): Promise<string> {
  return getSignedUrl(
    s3Presigner,
    new PutObjectCommand({
      Bucket: BUCKET(),
      Key: objectKey,
      ContentType: contentType,
      ContentLength: contentLength,
    }),
    { expiresIn, signableHeaders: new Set(['content-type', 'content-length']) },
  );
}

/** A presigned POST form: S3 enforces the exact size, type and object key from its policy. */
export async function presignPost(
  objectKey: string,
  contentType: string,
  contentLength: number,
  expiresIn: number,
): Promise<PresignedPost> {
  // Loaded on first use: only upload tickets need it, and it costs every image function ~35 ms of init.
  const { createPresignedPost } = await import('@aws-sdk/s3-presigned-post');
  return createPresignedPost(s3Presigner, {
    Bucket: BUCKET(),
    Key: objectKey,
    Conditions: [
      ['content-length-range', contentLength, contentLength],
      ['eq', '$Content-Type', contentType],
    ],
    Fields: { 'Content-Type': contentType },
    Expires: expiresIn,
  });
}

export function presignGet(
  objectKey: string,
  expiresIn: number,
  response: { contentType?: string; attachment?: boolean } = {},
): Promise<string> {
  return getSignedUrl(
    s3Presigner,
    new GetObjectCommand({
      Bucket: BUCKET(),
      Key: objectKey,
      ResponseContentType: response.contentType,
      ResponseContentDisposition: response.attachment ? 'attachment' : undefined,
    }),
    { expiresIn },
  );
}
