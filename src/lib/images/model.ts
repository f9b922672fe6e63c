import type { Label } from './labeller';
import type { Rejection, ThumbnailFormat } from './render';

export type ImageStatus = 'pending' | 'ready' | 'rejected';

/** `admin`, or `device:<deviceId>`: whoever uploaded the image. */
export type Owner = string;

export interface ThumbnailRef {
  size: number;
  width: number;
  height: number;
  format: ThumbnailFormat;
  objectKey: string;
  bytes: number;
}

export interface ImageRecord {
  key: string;
  owner: Owner;
  status: ImageStatus;
  /** Optimistic lock: every write checks the version it read. */
  version: number;
  createdAt: string;
  updatedAt: string;
  /** Only on a claim nobody has uploaded to yet: DynamoDB's TTL removes it. */
  expiresAt?: number;
  processedAt?: string;
  /** The current claim: the only upload (`uploads/<key>/<uploadId>`) the processor will accept. */
  uploadId?: string;
  /** The original this record describes (ready images only: rejected originals are deleted). */
  objectKey?: string;
  /** S3 event sequencer (zero-padded hex) of the upload this record describes. */
  sequencer?: string;
  etag?: string;
  bytes?: number;
  sha256?: string;
  format?: string;
  contentType?: string;
  width?: number;
  height?: number;
  capturedAt?: string;
  dominantColour?: string;
  labels?: Label[];
  labeller?: string;
  thumbnails?: ThumbnailRef[];
  rejection?: Rejection;
}

export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

export interface ImageSummary {
  key: string;
  status: ImageStatus;
  updatedAt: string;
}

export interface LabelMatch {
  key: string;
  label: string;
  confidence: number;
}
