import { createHmac } from 'node:crypto';
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import {
  type Allowance,
  isRefusal,
  type Refusal,
  releaseAttempt,
  reserveAttempt,
} from '../attempts/allowance';
import { dynamo } from '../aws/dynamo';
import { retryRemaining } from '../aws/retry';
import { config } from '../config';
import { newToken, parseAuthorization, tokenMatches } from '../devices/credentials';
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
import { findKey, KEY_KIND, type KeyStatus, keyStatus, type ProvisioningKeyRecord } from './keys';

// POST /api/provision: a device presents a provisioning key (`Authorization: Bearer <key>`) and gets
// its own device id and token, as an administrator's registration would give them.
//
// Exactly once: the device item, the key's use count (+1, only while used < maxDevices and the key is
// neither revoked nor expired) and the audit entry of the success are ONE DynamoDB transaction, so a
// device never exists without being counted, a count never rises without a device, and no slot is
// reserved ahead (nothing to roll back when a step fails). Concurrent exchanges of one key conflict
// inside DynamoDB and are retried; the condition on the count decides who gets the last slots.
//
// Guessing: every attempt first reserves one failure of its source address's allowance, and one of
// the key's once the key id is known to exist (src/lib/attempts/allowance.ts); a right secret gives
// them back. Unknown keys and wrong secrets are the same 401; only a caller holding the right secret
// learns that the key is revoked, expired or used up (403).

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

const failures = (key: Record<string, string>, existing: boolean): Allowance => ({
  table: config.PROVISIONING_TABLE,
  key,
  countAttribute: 'failures',
  windowEndsAttribute: 'failureWindowEnds',
  max: config.MAX_PROVISION_FAILURES,
  windowSeconds: config.PROVISION_FAILURE_WINDOW_SECONDS,
  ...(existing ? { existingKeyAttribute: 'id' } : { purgeAttribute: 'purgeAt' }),
});
const sourceFailures = (sourceIp: string) => failures({ id: `source#${sourceIp}` }, false);
const keyFailures = (keyId: string) => failures({ id: keyId }, true);

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
  const rateLimited = (refusal: Refusal) =>
    refuse(
      'refused: rate limited',
      new TooManyRequestsError(
        'Too many failed provisioning attempts; retry later',
        'retryAfterSeconds' in refusal ? refusal.retryAfterSeconds : 1,
      ),
    );

  const bySource = sourceFailures(request.sourceIp);
  const sourceAttempt = await reserveAttempt(bySource);
  if (isRefusal(sourceAttempt)) return rateLimited(sourceAttempt);

  const presented = presentedKey(request.authorization);
  const record = presented && (await findKey(presented.keyId));
  if (!presented || !record) return refuse('refused: invalid key', new AuthError(INVALID_KEY));
  const byKey = keyFailures(record.id);
  const keyAttempt = await reserveAttempt(byKey);
  if (isRefusal(keyAttempt)) {
    // Not this address's failure: the key's own allowance is spent (guessed from elsewhere).
    await releaseAttempt(bySource, sourceAttempt);
    if ('missing' in keyAttempt) return refuse('refused: invalid key', new AuthError(INVALID_KEY));
    return rateLimited(keyAttempt);
  }
  if (!tokenMatches(presented.key, record.secretHash))
    return refuse('refused: invalid key', new AuthError(INVALID_KEY));
  keyId = record.id;
  await Promise.all([releaseAttempt(bySource, sourceAttempt), releaseAttempt(byKey, keyAttempt)]);
  return exchange(request, record, presented.key, { entry, refuse });
}

interface Auditing {
  entry: (outcome: Outcome, deviceId?: string) => AuditEntry;
  refuse: (outcome: Outcome, error: Error) => Promise<never>;
}

/** The key's secret is right: create the device (or find the one this Idempotency-Key created). */
async function exchange(
  request: ProvisionRequest,
  record: ProvisioningKeyRecord,
  key: string,
  { entry, refuse }: Auditing,
): Promise<Provisioned> {
  const status = keyStatus(record);
  // A retry of a request that got the key's last device is answered even though the key is used up.
  if (status === 'revoked' || status === 'expired')
    return refuse(`refused: ${status}`, new ForbiddenError(REFUSED[status]));
  const secret = key.slice(key.lastIndexOf('.') + 1);
  const credentials = request.idempotencyKey ? derivedCredentials(secret, request.idempotencyKey) : undefined;
  const replayed = async (): Promise<Provisioned | undefined> => {
    if (!credentials) return undefined;
    let earlier: Provisioned | undefined;
    try {
      earlier = await replay(request, record, credentials);
    } catch (error) {
      if (error instanceof AppError) return refuse('refused: idempotency conflict', error);
      throw error;
    }
    if (earlier) await recordAudit(entry('replayed', earlier.device.deviceId));
    return earlier;
  };
  const earlier = await replayed();
  if (earlier) return earlier;
  if (status === 'exhausted') return refuse('refused: exhausted', new ForbiddenError(REFUSED.exhausted));

  const { record: device, token } = newDeviceRecord(
    { ...request.device, provisionedBy: record.id },
    credentials,
  );
  const now = new Date().toISOString();
  let cancelled: 'key' | 'device' | undefined;
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
                  Key: { id: record.id },
                  UpdateExpression: 'SET used = used + :one',
                  ConditionExpression:
                    'kind = :kind AND attribute_not_exists(revokedAt) AND expiresAt > :now AND used < maxDevices',
                  ExpressionAttributeValues: { ':one': 1, ':kind': KEY_KIND, ':now': now },
                },
              },
              { Put: putNewDevice(device) },
              { Put: { TableName: config.AUDIT_TABLE, Item: auditItem(entry('created', device.deviceId)) } },
            ],
          }),
        );
        return [];
      } catch (error) {
        const reasons = (error as { CancellationReasons?: Array<{ Code?: string }> }).CancellationReasons;
        if ((error as Error).name !== 'TransactionCanceledException' || !reasons) throw error;
        if (reasons[0]?.Code === 'ConditionalCheckFailed') cancelled = 'key';
        else if (reasons[1]?.Code === 'ConditionalCheckFailed') cancelled = 'device';
        else if (
          reasons.some((reason) => reason.Code === 'TransactionConflict' || reason.Code === 'ThrottlingError')
        )
          return [device];
        else throw error;
        return [];
      }
    },
    { attempts: 8, baseDelayMs: 20, maxDelayMs: 400, deadline: Date.now() + 5_000 },
  );
  if (left.length > 0)
    return refuse('refused: busy', new UnavailableError('Provisioning is busy; retry the request'));
  if (cancelled === 'key') {
    // Its last slot went to a concurrent request, or it was revoked or expired meanwhile.
    const current = (await findKey(record.id)) ?? record;
    const reason = keyStatus(current);
    return refuse(
      `refused: ${reason === 'active' ? 'exhausted' : reason}`,
      new ForbiddenError(REFUSED[reason === 'active' ? 'exhausted' : reason]),
    );
  }
  if (cancelled === 'device') {
    // An earlier attempt of this very call committed although its answer was lost (the token is this
    // call's own secret, so a match proves it), or a concurrent request with the same Idempotency-Key
    // created the device first.
    const existing = await findDevice(device.deviceId);
    if (!existing || !tokenMatches(token, existing.tokenHash) || existing.provisionedBy !== record.id) {
      const concurrent = await replayed();
      if (concurrent) return concurrent;
      return refuse('refused: busy', new UnavailableError('Provisioning is busy; retry the request'));
    }
  }
  logger.info('device provisioned', { keyId: record.id, deviceId: device.deviceId });
  return { device: publicDevice(device), token, replayed: false };
}

/** The device an earlier request with this Idempotency-Key created, with its (recomputed) token. */
async function replay(
  request: ProvisionRequest,
  record: ProvisioningKeyRecord,
  credentials: { deviceId: string; token: string },
): Promise<Provisioned | undefined> {
  const device = await findDevice(credentials.deviceId);
  if (!device) return undefined;
  if (
    device.provisionedBy !== record.id ||
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
