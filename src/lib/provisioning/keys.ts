import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { dynamo, writtenIf } from '../aws/dynamo';
import { config } from '../config';
import { hashToken, newToken } from '../devices/credentials';
import { NotFoundError } from '../errors';
import { decodeCursor, encodeCursor } from '../pagination';
import { recordAudit } from '../readings/audit';
import { newKeyId, PROVISIONING_KEY_ID_PATTERN } from './key-format';
import type { KeyStatus, ProvisioningKey } from './key-types';

// Provisioning keys: an administrator creates one for a batch of devices (a name, how many devices it
// may create, an expiry); each device exchanges it at POST /api/provision for its own id and token.
// The key is `<keyId>.<secret>` (the shape of device tokens), shown once; the table keeps only the
// secret's SHA-256, as for device tokens (256 random bits: no KDF or pepper adds anything).

export const KEY_KIND = 'provisioning-key';

/** The stored item (never the secret). */
export interface ProvisioningKeyRecord {
  id: string;
  kind: typeof KEY_KIND;
  createdKey: string;
  name: string;
  maxDevices: number;
  used: number;
  createdAt: string;
  expiresAt: string;
  revokedAt?: string;
  secretHash: string;
}

export type { KeyStatus, ProvisioningKey } from './key-types';

/** Whether a key may create a device now, or why not (revocation wins over expiry over use). */
export function keyStatus(
  record: Pick<ProvisioningKeyRecord, 'revokedAt' | 'expiresAt' | 'used' | 'maxDevices'>,
  now = new Date(),
): KeyStatus {
  if (record.revokedAt !== undefined) return 'revoked';
  if (record.expiresAt <= now.toISOString()) return 'expired';
  if (record.used >= record.maxDevices) return 'exhausted';
  return 'active';
}

export function publicKey(record: ProvisioningKeyRecord): ProvisioningKey {
  const { id, name, maxDevices, used, createdAt, expiresAt, revokedAt } = record;
  return {
    keyId: id,
    name,
    maxDevices,
    used,
    createdAt,
    expiresAt,
    revoked: revokedAt !== undefined,
    ...(revokedAt === undefined ? {} : { revokedAt }),
    status: keyStatus(record),
  };
}

interface AdminAction {
  requestId: string;
}

const auditKeyChange = (keyId: string, outcome: 'created' | 'revoked', { requestId }: AdminAction) =>
  recordAudit({
    requestId,
    at: Date.now(),
    actor: 'admin',
    route: outcome === 'created' ? 'POST /api/provisioning-keys' : 'DELETE /api/provisioning-keys/{keyId}',
    deviceId: '',
    rows: 1,
    action: 'provisioning-key',
    outcome,
    keyId,
  });

/** A new key; the answer is the only place its secret ever appears. */
export async function createProvisioningKey(
  input: { name: string; maxDevices: number; expiresAt: Date },
  action: AdminAction,
): Promise<ProvisioningKey & { key: string }> {
  const keyId = newKeyId();
  const key = newToken(keyId);
  const createdAt = new Date().toISOString();
  const record: ProvisioningKeyRecord = {
    id: keyId,
    kind: KEY_KIND,
    createdKey: `${createdAt}#${keyId}`,
    name: input.name,
    maxDevices: input.maxDevices,
    used: 0,
    createdAt,
    expiresAt: input.expiresAt.toISOString(),
    secretHash: hashToken(key),
  };
  await dynamo.send(
    new PutCommand({
      TableName: config.PROVISIONING_TABLE,
      Item: record,
      ConditionExpression: 'attribute_not_exists(id)',
    }),
  );
  await auditKeyChange(keyId, 'created', action);
  return { ...publicKey(record), key };
}

export async function findKey(keyId: string): Promise<ProvisioningKeyRecord | undefined> {
  const { Item } = await dynamo.send(
    new GetCommand({ TableName: config.PROVISIONING_TABLE, Key: { id: keyId }, ConsistentRead: true }),
  );
  return Item?.kind === KEY_KIND ? (Item as ProvisioningKeyRecord) : undefined;
}

// The byKind index's start key: the key's createdKey (`<ISO time>#<keyId>`) and its id.
const listCursor = z
  .strictObject({
    kind: z.literal(KEY_KIND),
    createdKey: z.string().regex(/^\d{4}-\d{2}-\d{2}T[\d:.]+Z#pk_[A-Za-z0-9_-]{16}$/),
    id: z.string().regex(PROVISIONING_KEY_ID_PATTERN),
  })
  .refine((cursor) => cursor.createdKey.endsWith(`#${cursor.id}`));

/** Newest first; a Query on the sparse `byKind` index (counters of source addresses are not in it). */
export async function listProvisioningKeys(
  limit: number,
  cursor?: string,
): Promise<{ keys: ProvisioningKey[]; next?: string }> {
  const { Items = [], LastEvaluatedKey } = await dynamo.send(
    new QueryCommand({
      TableName: config.PROVISIONING_TABLE,
      IndexName: 'byKind',
      KeyConditionExpression: 'kind = :kind',
      ExpressionAttributeValues: { ':kind': KEY_KIND },
      ScanIndexForward: false,
      Limit: limit,
      ExclusiveStartKey: decodeCursor(cursor, listCursor),
    }),
  );
  return {
    keys: (Items as ProvisioningKeyRecord[]).map(publicKey),
    next: encodeCursor(LastEvaluatedKey),
  };
}

/** Revokes a key at once (no cache in front of it); revoking again keeps the first time. */
export async function revokeProvisioningKey(keyId: string, action: AdminAction): Promise<ProvisioningKey> {
  let record: ProvisioningKeyRecord | undefined;
  const revoked = await writtenIf(
    dynamo
      .send(
        new UpdateCommand({
          TableName: config.PROVISIONING_TABLE,
          Key: { id: keyId },
          UpdateExpression: 'SET revokedAt = if_not_exists(revokedAt, :now)',
          ConditionExpression: 'kind = :kind',
          ExpressionAttributeValues: { ':now': new Date().toISOString(), ':kind': KEY_KIND },
          ReturnValues: 'ALL_NEW',
        }),
      )
      .then(({ Attributes }) => {
        record = Attributes as ProvisioningKeyRecord;
      }),
  );
  if (!revoked || !record) throw new NotFoundError(`No provisioning key ${keyId}`);
  await auditKeyChange(keyId, 'revoked', action);
  return publicKey(record);
}
