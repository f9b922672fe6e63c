import { createHmac } from 'node:crypto';
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { type Allowance, isRefusal, reserveAttempt, spentFor } from '../attempts/allowance';
import { dynamo } from '../aws/dynamo';
import { retryRemaining } from '../aws/retry';
import { config } from '../config';
import { hashToken, newToken, parseAuthorization, tokenMatches } from '../devices/credentials';
import {
  type Device,
  findDevice,
  type NewDevice,
  newDeviceRecord,
  publicDevice,
  putNewDevice,
} from '../devices/devices';
import {
  AppError,
  AuthError,
  ConflictError,
  ForbiddenError,
  TooManyRequestsError,
  UnavailableError,
} from '../errors';
import { logger } from '../logger';
import { auditItem, recordAudit } from '../readings/audit';
import { IdempotencyKeyReused } from '../readings/idempotency';
import type { AuditEntry } from '../readings/messages';
import { keyIdOf } from './key-format';
import { KEY_KIND, type KeyStatus, keyStatus, type ProvisioningKeyRecord } from './keys';

// POST /api/provision: a device presents a provisioning key (`Authorization: Bearer <key>`) and gets
// its own device id and token, as an administrator's registration would give them.
//
// Exactly once: the device item, the key's use count (+1, only while used < maxDevices and the key is
// neither revoked nor expired) and the audit entry of the success are ONE DynamoDB transaction, so a
// device never exists without being counted, a count never rises without a device, and no slot is
// reserved ahead (nothing to roll back when a step fails). Concurrent exchanges of one key conflict
// inside DynamoDB and are retried; the condition on the count decides who gets the last slots.
//
// Guessing: failures are limited per source address and per key id (src/lib/attempts/allowance.ts,
// the db_password limiter's mechanism). A failed attempt reserves one attempt of each allowance and
// is answered 401 only if it got them, else 429: so at most MAX_PROVISION_FAILURES wrong answers per
// window are ever given, however many requests race. A right key costs reads only, and is refused
// (429) while a window is spent, which tells a guesser nothing. Unknown keys and wrong secrets are the
// same 401; only a caller holding the right secret learns that the key is revoked, expired or used up
// (403).

export const PROVISION_ROUTE = 'POST /api/provision';
const INVALID_KEY = 'Missing or invalid provisioning key';
const REFUSED: Record<Exclude<KeyStatus, 'active'>, string> = {
  revoked: 'This provisioning key has been revoked',
  expired: 'This provisioning key has expired',
  exhausted: 'This provisioning key has already created all the devices it may create',
};

export interface ProvisionRequest {
  authorization: string | undefined;
  /** Idempotency-Key: a retry with the same key gets the same device and token back. */
  idempotencyKey?: string;
  device: Pick<NewDevice, 'name' | 'expectedIntervalSeconds'>;
  sourceIp: string;
  requestId: string;
}

export interface Provisioned {
  device: Device;
  token: string;
  /** An earlier request with the same Idempotency-Key created it. */
  replayed: boolean;
}

type Outcome =
  | 'created'
  | 'replayed'
  | 'refused: invalid key'
  | 'refused: rate limited'
  | 'refused: busy'
  | 'refused: idempotency conflict'
  | `refused: ${Exclude<KeyStatus, 'active'>}`;

// Counter items of their own, purged by TTL: on the key's item they would conflict with the
// transactions that count its uses.
const failures = (id: string): Allowance => ({
  table: config.PROVISIONING_TABLE,
  key: { id },
  countAttribute: 'failures',
  windowEndsAttribute: 'failureWindowEnds',
  max: config.MAX_PROVISION_FAILURES,
  windowSeconds: config.PROVISION_FAILURE_WINDOW_SECONDS,
  purgeAttribute: 'purgeAt',
});
const sourceFailures = (sourceIp: string) => failures(`source#${sourceIp}`);
const keyFailures = (keyId: string) => failures(`failures#${keyId}`);

/**
 * With an Idempotency-Key, the device's id and token derive from the provisioning key's secret and
 * the Idempotency-Key (HMAC), so a retry recomputes them: nothing secret is stored to answer it.
 */
export function derivedCredentials(keySecret: string, idempotencyKey: string) {
  const mac = (purpose: string) =>
    createHmac('sha256', keySecret).update(`sensorcloud/provision/${purpose}\n${idempotencyKey}`).digest();
  const deviceId = `dev_${mac('device-id').subarray(0, 12).toString('base64url')}`;
  return { deviceId, token: newToken(deviceId, mac('device-token')) };
}

function presentedKey(authorization: string | undefined): { keyId: string; key: string } | undefined {
  const credentials = parseAuthorization(authorization);
  if (credentials?.scheme !== 'bearer') return undefined;
  const keyId = keyIdOf(credentials.token);
  return keyId ? { keyId, key: credentials.token } : undefined;
}

/** The fields of a key item returned with a failed condition (low-level attribute values). */
function keyFromCancellation(item: Record<string, Record<string, string>> | undefined) {
  if (item?.kind?.S !== KEY_KIND || !item.id?.S || !item.secretHash?.S || !item.expiresAt?.S)
    return undefined;
  return {
    id: item.id.S,
    secretHash: item.secretHash.S,
    expiresAt: item.expiresAt.S,
    revokedAt: item.revokedAt?.S,
    used: Number(item.used?.N),
    maxDevices: Number(item.maxDevices?.N),
  } satisfies Pick<
    ProvisioningKeyRecord,
    'id' | 'secretHash' | 'expiresAt' | 'revokedAt' | 'used' | 'maxDevices'
  >;
}

type Cancellation = Array<{ Code?: string; Item?: Record<string, Record<string, string>> }>;

export async function provisionDevice(request: ProvisionRequest): Promise<Provisioned> {
  let keyId: string | undefined;
  const entry = (outcome: Outcome, deviceId = ''): AuditEntry => ({
    requestId: request.requestId,
    at: Date.now(),
    actor: keyId ?? 'anonymous',
    route: PROVISION_ROUTE,
    deviceId,
    rows: outcome === 'created' ? 1 : 0,
    action: 'provision',
    outcome,
    ...(keyId === undefined ? {} : { keyId }),
    sourceIp: request.sourceIp,
  });
  const refuse = async (outcome: Outcome, error: Error): Promise<never> => {
    logger.info('provisioning refused', { keyId, outcome });
    await recordAudit(entry(outcome));
    throw error;
  };
  const rateLimited = (retryAfterSeconds: number) =>
    refuse(
      'refused: rate limited',
      new TooManyRequestsError('Too many failed provisioning attempts; retry later', retryAfterSeconds),
    );
  /** A failure keeps one attempt of each allowance; the one that has none left turns it into a 429. */
  const failed = async (allowances: Allowance[]): Promise<never> => {
    const attempts = await Promise.all(allowances.map(reserveAttempt));
    const refusal = attempts.find(isRefusal);
    if (refusal) return rateLimited('retryAfterSeconds' in refusal ? refusal.retryAfterSeconds : 1);
    return refuse('refused: invalid key', new AuthError(INVALID_KEY));
  };

  const presented = presentedKey(request.authorization);
  const bySource = sourceFailures(request.sourceIp);
  const byKey = presented && keyFailures(presented.keyId);
  // Reads only: a success writes no counter. A spent window refuses right keys too (no signal).
  const [sourceSpent, keySpent] = await Promise.all([spentFor(bySource), byKey && spentFor(byKey)]);
  const spent = Math.max(sourceSpent ?? 0, keySpent ?? 0);
  if (spent > 0) return rateLimited(spent);
  if (!presented || !byKey) return failed([bySource]);

  const secret = presented.key.slice(presented.key.lastIndexOf('.') + 1);
  const credentials = request.idempotencyKey ? derivedCredentials(secret, request.idempotencyKey) : undefined;
  const { record: device, token } = newDeviceRecord(
    { ...request.device, provisionedBy: presented.keyId },
    credentials,
  );
  const replayed = async (): Promise<Provisioned | undefined> => {
    if (!credentials || !keyId) return undefined;
    let earlier: Provisioned | undefined;
    try {
      earlier = await replay(request, keyId, credentials);
    } catch (error) {
      if (error instanceof AppError) return refuse('refused: idempotency conflict', error);
      throw error;
    }
    if (earlier) await recordAudit(entry('replayed', earlier.device.deviceId));
    return earlier;
  };

  // The key is read by the transaction itself (its condition checks the secret's hash, the state and
  // the count, and a failed condition returns the item): no read before it that a concurrent
  // exchange's transaction could hold up.
  let reasons: Cancellation | undefined;
  const now = new Date().toISOString();
  const success = { ...entry('created', device.deviceId), actor: presented.keyId, keyId: presented.keyId };
  const left = await retryRemaining(
    [device],
    async () => {
      try {
        await dynamo.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Update: {
                  TableName: config.PROVISIONING_TABLE,
                  Key: { id: presented.keyId },
                  UpdateExpression: 'SET used = used + :one',
                  ConditionExpression:
                    'kind = :kind AND secretHash = :hash AND attribute_not_exists(revokedAt) AND expiresAt > :now AND used < maxDevices',
                  ExpressionAttributeValues: {
                    ':one': 1,
                    ':kind': KEY_KIND,
                    ':hash': hashToken(presented.key),
                    ':now': now,
                  },
                  ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
                },
              },
              { Put: putNewDevice(device) },
              { Put: { TableName: config.AUDIT_TABLE, Item: auditItem(success) } },
            ],
          }),
        );
        return [];
      } catch (error) {
        const cancellation = (error as { CancellationReasons?: Cancellation }).CancellationReasons;
        if ((error as Error).name !== 'TransactionCanceledException' || !cancellation) throw error;
        if (cancellation.some((reason) => reason.Code === 'ConditionalCheckFailed')) {
          reasons = cancellation;
          return [];
        }
        if (
          cancellation.some(
            (reason) => reason.Code === 'TransactionConflict' || reason.Code === 'ThrottlingError',
          )
        )
          return [device];
        throw error;
      }
    },
    { attempts: 8, baseDelayMs: 20, maxDelayMs: 400, deadline: Date.now() + 8_000 },
  );
  if (left.length > 0)
    return refuse('refused: busy', new UnavailableError('Provisioning is busy; retry the request'));
  if (!reasons) {
    keyId = presented.keyId;
    logger.info('device provisioned', { keyId, deviceId: device.deviceId });
    return { device: publicDevice(device), token, replayed: false };
  }

  const [keyReason, deviceReason] = reasons;
  if (keyReason?.Code === 'ConditionalCheckFailed') {
    const key = keyFromCancellation(keyReason.Item);
    if (!key || !tokenMatches(presented.key, key.secretHash))
      return failed(key ? [bySource, byKey] : [bySource]);
    keyId = key.id;
    const status = keyStatus(key);
    if (status === 'revoked' || status === 'expired')
      return refuse(`refused: ${status}`, new ForbiddenError(REFUSED[status]));
    // Used up (or its last slot just went to a concurrent exchange): a retry of an exchange that got
    // one of its devices is still answered.
    if (deviceReason?.Code === 'ConditionalCheckFailed') {
      const earlier = await replayed();
      if (earlier) return earlier;
    }
    return refuse('refused: exhausted', new ForbiddenError(REFUSED.exhausted));
  }
  keyId = presented.keyId;
  // The key was fine but the device exists: an earlier attempt of this very call committed although
  // its answer was lost (the token is this call's own secret, so a match proves it), or a request
  // with the same Idempotency-Key created it.
  const existing = await findDevice(device.deviceId);
  if (existing && tokenMatches(token, existing.tokenHash) && existing.provisionedBy === keyId) {
    logger.info('device provisioned', { keyId, deviceId: device.deviceId });
    return { device: publicDevice(existing), token, replayed: false };
  }
  const earlier = await replayed();
  if (earlier) return earlier;
  return refuse('refused: busy', new UnavailableError('Provisioning is busy; retry the request'));
}

/** The device an earlier request with this Idempotency-Key created, with its (recomputed) token. */
async function replay(
  request: ProvisionRequest,
  keyId: string,
  credentials: { deviceId: string; token: string },
): Promise<Provisioned | undefined> {
  const device = await findDevice(credentials.deviceId);
  if (!device) return undefined;
  if (
    device.provisionedBy !== keyId ||
    device.name !== request.device.name ||
    device.expectedIntervalSeconds !== request.device.expectedIntervalSeconds
  )
    throw new IdempotencyKeyReused();
  if (device.status !== 'active' || !tokenMatches(credentials.token, device.tokenHash))
    throw new ConflictError(
      "This Idempotency-Key's device has been revoked or its token rotated; ask an administrator",
    );
  return { device: publicDevice(device), token: credentials.token, replayed: true };
}
