import { randomUUID } from 'node:crypto';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../aws/dynamo';
import { config } from '../config';
import { logger } from '../logger';
import type { KeyWrapper } from './key-wrapper';
import { kmsKeyWrapper } from './kms-key-wrapper';
import { localKeyWrapper } from './local-key-wrapper';

// Envelope encryption: rows are sealed with data keys; data keys are stored only wrapped (by KMS in
// AWS, by the local master key offline) in the keys table, and their id is stored with every row,
// so keys rotate freely. A container reuses its current data key for a bounded time and number of
// uses, which keeps KMS calls off the hot path without letting one key seal unbounded data.
const wrapper: KeyWrapper =
  config.KEY_PROVIDER === 'kms'
    ? kmsKeyWrapper(config.KMS_KEY_ID as string)
    : localKeyWrapper(config.LOCAL_MASTER_KEY_FILE as string);

/** The provider of every wrapped key (data keys here, the password pepper in pepper.ts). */
export { wrapper as keyWrapper };

const PURPOSE = 'sensorcloud/readings';
const MAX_CACHED_KEYS = 256;

interface CurrentKey {
  keyId: string;
  key: Buffer;
  createdAt: number;
  uses: number;
}

let current: CurrentKey | undefined;
let pendingCurrent: Promise<CurrentKey> | undefined;
const unwrapped = new Map<string, Promise<Buffer>>();

function remember(keyId: string, key: Promise<Buffer>): Promise<Buffer> {
  if (unwrapped.size >= MAX_CACHED_KEYS) {
    const oldest = unwrapped.keys().next().value;
    if (oldest !== undefined) unwrapped.delete(oldest);
  }
  unwrapped.set(keyId, key);
  key.catch(() => unwrapped.delete(keyId));
  return key;
}

async function createDataKey(): Promise<CurrentKey> {
  const keyId = randomUUID();
  const { plaintext, wrapped } = await wrapper.generate({ purpose: PURPOSE, keyId });
  await dynamo.send(
    new PutCommand({
      TableName: config.KEYS_TABLE,
      Item: { keyId, provider: wrapper.provider, wrapped, createdAt: new Date().toISOString() },
      ConditionExpression: 'attribute_not_exists(keyId)',
    }),
  );
  logger.info('new data key', { keyId, provider: wrapper.provider });
  remember(keyId, Promise.resolve(plaintext));
  return { keyId, key: plaintext, createdAt: Date.now(), uses: 0 };
}

/** The data key to seal `uses` more values with (a new one when the current one is spent). */
export async function currentDataKey(uses: number): Promise<{ keyId: string; key: Buffer }> {
  const spent =
    !current ||
    Date.now() - current.createdAt > config.DATA_KEY_MAX_AGE_SECONDS * 1000 ||
    current.uses + uses > config.DATA_KEY_MAX_USES;
  if (spent) {
    pendingCurrent ??= createDataKey().finally(() => {
      pendingCurrent = undefined;
    });
    current = await pendingCurrent;
  }
  const key = current as CurrentKey;
  key.uses += uses;
  return { keyId: key.keyId, key: key.key };
}

/** The data key a row names, unwrapped once per container. */
export function dataKeyById(keyId: string): Promise<Buffer> {
  const cached = unwrapped.get(keyId);
  if (cached) return cached;
  return remember(
    keyId,
    (async () => {
      // Strongly consistent: a key written moments ago by another container must be found.
      const { Item } = await dynamo.send(
        new GetCommand({ TableName: config.KEYS_TABLE, Key: { keyId }, ConsistentRead: true }),
      );
      if (!Item) throw new Error(`data key ${keyId} not found`);
      return wrapper.unwrap(Buffer.from(Item.wrapped as Uint8Array), { purpose: PURPOSE, keyId });
    })(),
  );
}
