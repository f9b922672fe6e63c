import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { s3 } from './s3';

/** S3's smallest part (all but the last); the buffer holds at most one part. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
/** S3 allows 10,000 parts per upload: at the default part size, objects up to ~78 GiB. */
const MAX_PARTS = 10_000;
/**
 * A part is megabytes, not the few kilobytes the shared client's 5 s request timeout is sized for: on a
 * busy host one part can take longer (seen in the bench), and a timed-out export starts over.
 */
const UPLOAD_OPTIONS = { requestTimeout: 60_000 };

/**
 * An object written in order as a stream of chunks with constant memory: chunks are gathered into
 * parts of `partBytes` and each part is uploaded before more is accepted (the caller awaits `write`,
 * which is its backpressure). An object smaller than one part is a single PutObject. The bucket's
 * default encryption applies to every object (no per-request encryption headers).
 */
export class MultipartObject {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private uploadId: string | undefined;
  private readonly parts: CompletedPart[] = [];
  private written = 0;
  private finished = false;

  constructor(
    readonly bucket: string,
    readonly key: string,
    private readonly contentType: string,
    private readonly partBytes = 8 * 1024 * 1024,
  ) {
    if (partBytes < MIN_PART_BYTES) throw new Error(`parts must be at least ${MIN_PART_BYTES} bytes`);
  }

  /** Bytes accepted so far. */
  get bytes(): number {
    return this.written;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.finished) throw new Error(`${this.key}: write after end`);
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    this.written += chunk.length;
    if (this.buffered >= this.partBytes) await this.uploadPart();
  }

  /** Uploads what is left and completes the object. */
  async end(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    if (this.uploadId === undefined) {
      await s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.key,
          Body: this.take(),
          ContentType: this.contentType,
        }),
        UPLOAD_OPTIONS,
      );
      return;
    }
    if (this.buffered > 0) await this.uploadPart();
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.bucket,
        Key: this.key,
        UploadId: this.uploadId,
        MultipartUpload: { Parts: this.parts },
      }),
    );
  }

  /** Abandons the object: its uploaded parts are discarded (the lifecycle rule is the backstop). */
  async abort(): Promise<void> {
    this.finished = true;
    this.chunks = [];
    this.buffered = 0;
    if (this.uploadId === undefined) return;
    const uploadId = this.uploadId;
    this.uploadId = undefined;
    await s3.send(
      new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: uploadId }),
    );
  }

  private take(): Buffer {
    const body = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [];
    this.buffered = 0;
    return body;
  }

  private async uploadPart(): Promise<void> {
    if (this.uploadId === undefined) {
      const created = await s3.send(
        new CreateMultipartUploadCommand({
          Bucket: this.bucket,
          Key: this.key,
          ContentType: this.contentType,
        }),
      );
      this.uploadId = created.UploadId;
    }
    const partNumber = this.parts.length + 1;
    if (partNumber > MAX_PARTS) throw new Error(`${this.key}: more than ${MAX_PARTS} parts`);
    const { ETag } = await s3.send(
      new UploadPartCommand({
        Bucket: this.bucket,
        Key: this.key,
        UploadId: this.uploadId,
        PartNumber: partNumber,
        Body: this.take(),
      }),
      UPLOAD_OPTIONS,
    );
    this.parts.push({ ETag, PartNumber: partNumber });
  }
}
