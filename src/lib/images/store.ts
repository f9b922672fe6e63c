import {
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { dynamo, writtenIf } from '../aws/dynamo';
import { config } from '../config';
import { ConflictError } from '../errors';
import { decodeCursor, encodeCursor } from '../pagination';
import { imageKeySchema } from './keys';
import type { ImageRecord, ImageSummary, LabelMatch, Owner, Page } from './model';

// One table, two item types:
//   image row  pk=image#<key>    sk=image   gsi1 owner#<owner> / <key>              gsi2 image / <key>
//   label row  pk=label#<label>  sk=<key>   gsi1 owner#<owner>#label#<label> / <key>
// so "an owner's images", "all images" (admin), "images with label X" (admin: the base table) and
// "an owner's images with label X" are each one Query, and an image's label rows are known from its
// record (record.labels) when they must be replaced or deleted.
const TABLE = () => config.IMAGES_TABLE;
const BY_OWNER = 'byOwner';
const ALL = 'all';
const IMAGE_SK = 'image';

const imagePk = (key: string) => `image#${key}`;
const labelPk = (label: string) => `label#${label}`;
const ownerPk = (owner: Owner) => `owner#${owner}`;
const ownerLabelPk = (owner: Owner, label: string) => `owner#${owner}#label#${label}`;

function imageItem(record: ImageRecord): Record<string, unknown> {
  return {
    ...record,
    pk: imagePk(record.key),
    sk: IMAGE_SK,
    gsi1pk: ownerPk(record.owner),
    gsi1sk: record.key,
    gsi2pk: IMAGE_SK,
    gsi2sk: record.key,
  };
}

function fromItem(item: Record<string, unknown>): ImageRecord {
  const { pk: _pk, sk: _sk, gsi1pk: _g1, gsi1sk: _g1s, gsi2pk: _g2, gsi2sk: _g2s, ...record } = item;
  return record as unknown as ImageRecord;
}

export async function getImageRecord(key: string): Promise<ImageRecord | undefined> {
  const { Item } = await dynamo.send(
    new GetCommand({ TableName: TABLE(), Key: { pk: imagePk(key), sk: IMAGE_SK }, ConsistentRead: true }),
  );
  return Item ? fromItem(Item) : undefined;
}

const MAX_CLAIM_ATTEMPTS = 3;

/**
 * Claims a key for one upload: the first uploader owns it (a pending record that expires unless an
 * upload arrives); the owner may claim it again, which makes `uploadId` the only upload the processor
 * accepts from then on (older URLs go stale); anyone else gets 409. The version moves on every claim,
 * so a processor that read the previous claim cannot write over this one.
 */
export async function claimImageKey(
  key: string,
  owner: Owner,
  uploadId: string,
  now: Date,
  ttlSeconds: number,
): Promise<void> {
  const timestamp = now.toISOString();
  for (let attempt = 1; attempt <= MAX_CLAIM_ATTEMPTS; attempt += 1) {
    const record: ImageRecord = {
      key,
      owner,
      status: 'pending',
      version: 0,
      uploadId,
      createdAt: timestamp,
      updatedAt: timestamp,
      expiresAt: Math.floor(now.getTime() / 1000) + ttlSeconds,
    };
    const created = await writtenIf(
      dynamo.send(
        new PutCommand({
          TableName: TABLE(),
          Item: imageItem(record),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
    if (created) return;
    // A claim nobody uploaded to yet (it has a TTL) lives on from this claim; a processed image has none.
    const reclaim = (pending: boolean) =>
      writtenIf(
        dynamo.send(
          new UpdateCommand({
            TableName: TABLE(),
            Key: { pk: imagePk(key), sk: IMAGE_SK },
            UpdateExpression: `SET #uploadId = :uploadId, #version = #version + :one${pending ? ', #expiresAt = :expiresAt' : ''}`,
            ConditionExpression: `attribute_exists(pk) AND #owner = :owner AND ${pending ? 'attribute_exists' : 'attribute_not_exists'}(#expiresAt)`,
            ExpressionAttributeNames: {
              '#uploadId': 'uploadId',
              '#version': 'version',
              '#owner': 'owner',
              '#expiresAt': 'expiresAt',
            },
            ExpressionAttributeValues: {
              ':uploadId': uploadId,
              ':one': 1,
              ':owner': owner,
              ...(pending ? { ':expiresAt': record.expiresAt } : {}),
            },
          }),
        ),
      );
    const claimed = (await reclaim(true)) || (await reclaim(false));
    if (claimed) return;
    const existing = await getImageRecord(key);
    if (existing && existing.owner !== owner) throw new ConflictError(`The key ${key} is taken`);
    // Deleted between the two writes: claim it afresh.
  }
  throw new Error(`image record ${key} kept changing`);
}

function labelRows(record: ImageRecord) {
  return (record.labels ?? []).map((label) => ({
    pk: labelPk(label.name),
    sk: record.key,
    gsi1pk: ownerLabelPk(record.owner, label.name),
    gsi1sk: record.key,
    key: record.key,
    label: label.name,
    confidence: label.confidence,
    owner: record.owner,
  }));
}

function versionCondition(previous: ImageRecord | undefined) {
  return previous
    ? {
        ConditionExpression: '#version = :version',
        ExpressionAttributeNames: { '#version': 'version' },
        ExpressionAttributeValues: { ':version': previous.version },
      }
    : { ConditionExpression: 'attribute_not_exists(pk)' };
}

/**
 * Replaces `previous` (as read) with `next` and its label rows in one transaction: new labels put,
 * labels that no longer apply deleted. False when the record changed since it was read.
 */
export async function replaceImageRecord(
  previous: ImageRecord | undefined,
  next: ImageRecord,
): Promise<boolean> {
  const keep = new Set((next.labels ?? []).map((label) => label.name));
  const stale = (previous?.labels ?? []).filter((label) => !keep.has(label.name));
  const items: NonNullable<TransactWriteCommandInput['TransactItems']> = [
    { Put: { TableName: TABLE(), Item: imageItem(next), ...versionCondition(previous) } },
    ...labelRows(next).map((Item) => ({ Put: { TableName: TABLE(), Item } })),
    ...stale.map((label) => ({
      Delete: { TableName: TABLE(), Key: { pk: labelPk(label.name), sk: next.key } },
    })),
  ];
  return writtenIf(dynamo.send(new TransactWriteCommand({ TransactItems: items })));
}

/** Deletes the record and its label rows; false when it changed since it was read. */
export async function deleteImageRecord(record: ImageRecord): Promise<boolean> {
  const items: NonNullable<TransactWriteCommandInput['TransactItems']> = [
    {
      Delete: {
        TableName: TABLE(),
        Key: { pk: imagePk(record.key), sk: IMAGE_SK },
        ...versionCondition(record),
      },
    },
    ...(record.labels ?? []).map((label) => ({
      Delete: { TableName: TABLE(), Key: { pk: labelPk(label.name), sk: record.key } },
    })),
  ];
  return writtenIf(dynamo.send(new TransactWriteCommand({ TransactItems: items })));
}

// Cursors carry only the last image key; the query rebuilds the rest of DynamoDB's start key from
// the caller's identity, so a cursor can never move a caller into another owner's partition.
const cursorShape = z.strictObject({ after: imageKeySchema });

export const decodeImageCursor = (cursor: string | undefined): string | undefined =>
  decodeCursor(cursor, cursorShape)?.after;

async function queryPage<T>(
  input: QueryCommandInput,
  startKey: ((key: string) => Record<string, unknown>) | undefined,
  after: string | undefined,
  map: (item: Record<string, unknown>) => T & { key: string },
): Promise<Page<T>> {
  const { Items = [], LastEvaluatedKey } = await dynamo.send(
    new QueryCommand({ ...input, ExclusiveStartKey: after && startKey ? startKey(after) : undefined }),
  );
  const items = Items.map(map);
  const last = items.at(-1);
  return { items, nextCursor: LastEvaluatedKey && last ? encodeCursor({ after: last.key }) : undefined };
}

const summary = (item: Record<string, unknown>): ImageSummary => ({
  key: item.key as string,
  status: item.status as ImageSummary['status'],
  updatedAt: item.updatedAt as string,
});

/** Images in key order: an owner's, or everyone's when owner is undefined (admin). */
export function listImageRecords(options: {
  owner?: Owner;
  limit: number;
  after?: string;
}): Promise<Page<ImageSummary>> {
  const { owner, limit, after } = options;
  if (owner === undefined) {
    return queryPage(
      {
        TableName: TABLE(),
        IndexName: ALL,
        KeyConditionExpression: 'gsi2pk = :pk',
        ExpressionAttributeValues: { ':pk': IMAGE_SK },
        Limit: limit,
      },
      (key) => ({ pk: imagePk(key), sk: IMAGE_SK, gsi2pk: IMAGE_SK, gsi2sk: key }),
      after,
      summary,
    );
  }
  return queryPage(
    {
      TableName: TABLE(),
      IndexName: BY_OWNER,
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': ownerPk(owner) },
      Limit: limit,
    },
    (key) => ({ pk: imagePk(key), sk: IMAGE_SK, gsi1pk: ownerPk(owner), gsi1sk: key }),
    after,
    summary,
  );
}

const labelMatch = (item: Record<string, unknown>): LabelMatch => ({
  key: item.key as string,
  label: item.label as string,
  confidence: item.confidence as number,
});

/** Images carrying a label, in key order: an owner's, or everyone's (admin). */
export function listImagesByLabel(options: {
  label: string;
  owner?: Owner;
  limit: number;
  after?: string;
}): Promise<Page<LabelMatch>> {
  const { label, owner, limit, after } = options;
  if (owner === undefined) {
    return queryPage(
      {
        TableName: TABLE(),
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': labelPk(label) },
        Limit: limit,
      },
      (key) => ({ pk: labelPk(label), sk: key }),
      after,
      labelMatch,
    );
  }
  return queryPage(
    {
      TableName: TABLE(),
      IndexName: BY_OWNER,
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': ownerLabelPk(owner, label) },
      Limit: limit,
    },
    (key) => ({ pk: labelPk(label), sk: key, gsi1pk: ownerLabelPk(owner, label), gsi1sk: key }),
    after,
    labelMatch,
  );
}
