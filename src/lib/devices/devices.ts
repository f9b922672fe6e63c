import { randomBytes } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { dynamo, writtenIf } from '../aws/dynamo';
import { queryPages } from '../aws/paging';
import { config } from '../config';
import { ConflictError, ForbiddenError, NotFoundError } from '../errors';
import { decodeCursor, encodeCursor } from '../pagination';
import { DEVICE_ID_PATTERN, hashToken, newDeviceId, newDeviceToken } from './credentials';

import type { ClockSkewAction, Device, ReportingState } from './device';

export type { ClockSkewAction, Device, DeviceClock, ReportingState } from './device';

/** The stored item: the public fields plus secrets' hashes, never the secrets themselves. */
export interface DeviceRecord extends Device {
  kind: 'device';
  createdKey: string;
  tokenHash: string;
  /** Salt of the password KDF, per device. */
  passwordSalt: string;
  /** Verifier ids of the passwords this device has written with. */
  passwordVerifiers?: string[];
  // The measured clock, flat (counters are updated in place; IAM names the attributes ingest may write).
  clockOffsetMs?: number;
  clockOffsetMeasuredAt?: string;
  clockSkewFlagged?: number;
  clockSkewRejected?: number;
}

const KIND = 'device';
// The byKind index's start key: the device's createdKey (`<ISO time>#<deviceId>`) and its id.
const listCursor = z
  .strictObject({
    kind: z.literal(KIND),
    createdKey: z.string().regex(/^\d{4}-\d{2}-\d{2}T[\d:.]+Z#[A-Za-z0-9_-]{3,64}$/),
    deviceId: z.string().regex(DEVICE_ID_PATTERN),
  })
  .refine((cursor) => cursor.createdKey.endsWith(`#${cursor.deviceId}`));

export function publicDevice(record: DeviceRecord): Device {
  const {
    deviceId,
    name,
    status,
    createdAt,
    tokenRotatedAt,
    revokedAt,
    expectedIntervalSeconds,
    reportingState,
    stateChangedAt,
    provisionedBy,
    clockSkewWindowSeconds,
    clockSkewAction,
    clockOffsetMs,
    clockOffsetMeasuredAt,
    alertsOnPasswordReadings,
  } = record;
  return {
    deviceId,
    name,
    status,
    createdAt,
    tokenRotatedAt,
    revokedAt,
    expectedIntervalSeconds,
    reportingState,
    stateChangedAt,
    provisionedBy,
    clockSkewWindowSeconds,
    clockSkewAction,
    clock:
      clockOffsetMs === undefined || clockOffsetMeasuredAt === undefined
        ? undefined
        : {
            offsetMs: clockOffsetMs,
            measuredAt: clockOffsetMeasuredAt,
            flaggedReadings: record.clockSkewFlagged ?? 0,
            rejectedRequests: record.clockSkewRejected ?? 0,
          },
    alertsOnPasswordReadings,
  };
}

export interface NewDevice {
  deviceId?: string;
  name?: string;
  expectedIntervalSeconds?: number;
  clockSkewWindowSeconds?: number;
  clockSkewAction?: ClockSkewAction;
  alertsOnPasswordReadings?: boolean;
  /** The provisioning key that created it (POST /api/provision). */
  provisionedBy?: string;
}

/** A new device's item and its token (the one time the token exists in plaintext). */
export function newDeviceRecord(
  input: NewDevice,
  credentials: { deviceId: string; token: string } | undefined = undefined,
): { record: DeviceRecord; token: string } {
  const deviceId = credentials?.deviceId ?? input.deviceId ?? newDeviceId();
  const token = credentials?.token ?? newDeviceToken(deviceId);
  const createdAt = new Date().toISOString();
  const record: DeviceRecord = {
    kind: KIND,
    deviceId,
    name: input.name,
    status: 'active',
    createdAt,
    createdKey: `${createdAt}#${deviceId}`,
    tokenHash: hashToken(token),
    passwordSalt: randomBytes(16).toString('base64'),
    expectedIntervalSeconds: input.expectedIntervalSeconds,
    provisionedBy: input.provisionedBy,
    clockSkewWindowSeconds: input.clockSkewWindowSeconds,
    clockSkewAction: input.clockSkewAction,
    alertsOnPasswordReadings: input.alertsOnPasswordReadings,
  };
  return { record, token };
}

/** The write that creates a device, never over an existing one (alone, or inside a transaction). */
export const putNewDevice = (record: DeviceRecord) => ({
  TableName: config.DEVICES_TABLE,
  Item: record,
  ConditionExpression: 'attribute_not_exists(deviceId)',
});

export async function registerDevice(input: NewDevice): Promise<{ device: Device; token: string }> {
  const { record, token } = newDeviceRecord(input);
  const created = await writtenIf(dynamo.send(new PutCommand(putNewDevice(record))));
  if (!created) throw new ConflictError(`Device ${record.deviceId} already exists`);
  return { device: publicDevice(record), token };
}

export async function findDevice(deviceId: string): Promise<DeviceRecord | undefined> {
  const { Item } = await dynamo.send(new GetCommand({ TableName: config.DEVICES_TABLE, Key: { deviceId } }));
  return Item as DeviceRecord | undefined;
}

export async function getDevice(deviceId: string): Promise<DeviceRecord> {
  const device = await findDevice(deviceId);
  if (!device) throw new NotFoundError(`No device ${deviceId}`);
  return device;
}

/** Newest first; a Query on the `byKind` index, never a scan. */
export async function listDevices(
  limit: number,
  cursor?: string,
): Promise<{ devices: Device[]; next?: string }> {
  const { Items = [], LastEvaluatedKey } = await dynamo.send(
    new QueryCommand({
      TableName: config.DEVICES_TABLE,
      IndexName: 'byKind',
      KeyConditionExpression: 'kind = :kind',
      ExpressionAttributeValues: { ':kind': KIND },
      ScanIndexForward: false,
      Limit: limit,
      ExclusiveStartKey: decodeCursor(cursor, listCursor),
    }),
  );
  return { devices: (Items as DeviceRecord[]).map(publicDevice), next: encodeCursor(LastEvaluatedKey) };
}

/** Every active device, page by page (a Query on `byKind`, never a scan); for the scheduled jobs. */
export async function* activeDevices(): AsyncGenerator<DeviceRecord> {
  yield* devicesOfKind({
    FilterExpression: '#status = :active',
    ExpressionAttributeNames: { '#status': 'status' },
    ExpressionAttributeValues: { ':kind': KIND, ':active': 'active' },
  });
}

/** Every device, revoked ones included (their readings remain), page by page; for exports. */
export async function* everyDevice(): AsyncGenerator<DeviceRecord> {
  yield* devicesOfKind({ ExpressionAttributeValues: { ':kind': KIND } });
}

async function* devicesOfKind(
  filter: Pick<
    QueryCommandInput,
    'FilterExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'
  >,
): AsyncGenerator<DeviceRecord> {
  for await (const { items } of queryPages({
    TableName: config.DEVICES_TABLE,
    IndexName: 'byKind',
    KeyConditionExpression: 'kind = :kind',
    ...filter,
  }))
    for (const item of items) yield item as unknown as DeviceRecord;
}

/**
 * Moves a device from one reporting state to another, only if it is still in `from` (absent counts
 * as 'reporting'). False when another run got there first: exactly one run sees each transition.
 */
export async function changeReportingState(
  deviceId: string,
  from: ReportingState,
  to: ReportingState,
  at: string,
): Promise<boolean> {
  return writtenIf(
    dynamo.send(
      new UpdateCommand({
        TableName: config.DEVICES_TABLE,
        Key: { deviceId },
        UpdateExpression: 'SET reportingState = :to, stateChangedAt = :at',
        ConditionExpression:
          from === 'reporting'
            ? 'attribute_exists(deviceId) AND (attribute_not_exists(reportingState) OR reportingState = :from)'
            : 'attribute_exists(deviceId) AND reportingState = :from',
        ExpressionAttributeValues: { ':from': from, ':to': to, ':at': at },
      }),
    ),
  );
}

/** Undoes a transition this run made (its alert could not be sent), so the next run retries it. */
export async function revertReportingState(
  deviceId: string,
  to: ReportingState,
  back: ReportingState,
  at: string,
): Promise<void> {
  // Not applied when a later run has moved the device on: then there is nothing to undo.
  await writtenIf(
    dynamo.send(
      new UpdateCommand({
        TableName: config.DEVICES_TABLE,
        Key: { deviceId },
        UpdateExpression: 'SET reportingState = :back',
        ConditionExpression: 'reportingState = :to AND stateChangedAt = :at',
        ExpressionAttributeValues: { ':back': back, ':to': to, ':at': at },
      }),
    ),
  );
}

export async function revokeDevice(deviceId: string): Promise<Device> {
  try {
    const { Attributes } = await dynamo.send(
      new UpdateCommand({
        TableName: config.DEVICES_TABLE,
        Key: { deviceId },
        UpdateExpression: 'SET #status = :revoked, revokedAt = :now',
        ConditionExpression: 'attribute_exists(deviceId)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':revoked': 'revoked', ':now': new Date().toISOString() },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return publicDevice(Attributes as DeviceRecord);
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) throw new NotFoundError(`No device ${deviceId}`);
    throw error;
  }
}

/** A new token; the old one stops working (after the authorizer's short cache). */
export async function rotateToken(deviceId: string): Promise<{ device: Device; token: string }> {
  const token = newDeviceToken(deviceId);
  try {
    const { Attributes } = await dynamo.send(
      new UpdateCommand({
        TableName: config.DEVICES_TABLE,
        Key: { deviceId },
        UpdateExpression: 'SET tokenHash = :hash, tokenRotatedAt = :now',
        ConditionExpression: 'attribute_exists(deviceId) AND #status = :active',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':hash': hashToken(token),
          ':now': new Date().toISOString(),
          ':active': 'active',
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return { device: publicDevice(Attributes as DeviceRecord), token };
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) {
      throw new NotFoundError(`No active device ${deviceId}`);
    }
    throw error;
  }
}

/** Settings an admin may change; null removes one (back to the stage's default). */
export interface DeviceSettings {
  name?: string;
  expectedIntervalSeconds?: number | null;
  clockSkewWindowSeconds?: number | null;
  clockSkewAction?: ClockSkewAction | null;
  alertsOnPasswordReadings?: boolean | null;
}

export async function updateDeviceSettings(deviceId: string, settings: DeviceSettings): Promise<Device> {
  const set: string[] = [];
  const remove: string[] = [];
  const values: Record<string, unknown> = {};
  const names: Record<string, string> = {};
  for (const [key, value] of Object.entries(settings)) {
    if (value === undefined) continue;
    names[`#${key}`] = key;
    if (value === null) remove.push(`#${key}`);
    else {
      set.push(`#${key} = :${key}`);
      values[`:${key}`] = value;
    }
  }
  const update = [
    set.length ? `SET ${set.join(', ')}` : '',
    remove.length ? `REMOVE ${remove.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join(' ');
  try {
    const { Attributes } = await dynamo.send(
      new UpdateCommand({
        TableName: config.DEVICES_TABLE,
        Key: { deviceId },
        UpdateExpression: update,
        ConditionExpression: 'attribute_exists(deviceId)',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: Object.keys(values).length ? values : undefined,
        ReturnValues: 'ALL_NEW',
      }),
    );
    return publicDevice(Attributes as DeviceRecord);
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) throw new NotFoundError(`No device ${deviceId}`);
    throw error;
  }
}

/**
 * Stores a clock measurement and adds to the skew counters (ingest; callers bound how often). Only
 * these attributes, which the ingest function's IAM names; a device deleted meanwhile is left alone.
 */
export async function recordClockMeasurement(
  deviceId: string,
  measurement: { offsetMs: number; measuredAt: string; flagged: number; rejected: number },
): Promise<void> {
  await writtenIf(
    dynamo.send(
      new UpdateCommand({
        TableName: config.DEVICES_TABLE,
        Key: { deviceId },
        UpdateExpression:
          'SET clockOffsetMs = :offset, clockOffsetMeasuredAt = :at, clockSkewFlagged = if_not_exists(clockSkewFlagged, :zero) + :flagged, clockSkewRejected = if_not_exists(clockSkewRejected, :zero) + :rejected',
        ConditionExpression: 'attribute_exists(deviceId)',
        ExpressionAttributeValues: {
          ':offset': measurement.offsetMs,
          ':at': measurement.measuredAt,
          ':zero': 0,
          ':flagged': measurement.flagged,
          ':rejected': measurement.rejected,
        },
      }),
    ),
  );
}

/** Records that the device wrote with a password (its verifier id), within the per-device limit. */
export async function rememberPasswordVerifier(device: DeviceRecord, verifierId: string): Promise<void> {
  if (device.passwordVerifiers?.includes(verifierId)) return;
  const added = await writtenIf(
    dynamo.send(
      new UpdateCommand({
        TableName: config.DEVICES_TABLE,
        Key: { deviceId: device.deviceId },
        UpdateExpression:
          'SET passwordVerifiers = list_append(if_not_exists(passwordVerifiers, :empty), :verifier)',
        ConditionExpression:
          'attribute_not_exists(passwordVerifiers) OR (size(passwordVerifiers) < :max AND NOT contains(passwordVerifiers, :id))',
        ExpressionAttributeValues: {
          ':empty': [],
          ':verifier': [verifierId],
          ':id': verifierId,
          ':max': config.MAX_PASSWORDS_PER_DEVICE,
        },
      }),
    ),
  );
  if (added) return;
  // Either another request added this verifier just now, or the device is at its limit.
  const current = await getDevice(device.deviceId);
  if (!current.passwordVerifiers?.includes(verifierId)) {
    throw new ForbiddenError(
      `This device already uses ${config.MAX_PASSWORDS_PER_DEVICE} different db_password values; no more are accepted`,
    );
  }
}

/**
 * Swaps verifier ids in place (e.g. a legacy v1 id for the peppered v2 id of the same password), only
 * if the list is still the one read: false when it changed meanwhile (the next use tries again).
 */
export async function replacePasswordVerifiers(
  device: DeviceRecord,
  replacements: ReadonlyMap<string, string>,
): Promise<boolean> {
  const current = device.passwordVerifiers ?? [];
  if (!current.some((id) => replacements.has(id))) return false;
  const next = [...new Set(current.map((id) => replacements.get(id) ?? id))];
  return writtenIf(
    dynamo.send(
      new UpdateCommand({
        TableName: config.DEVICES_TABLE,
        Key: { deviceId: device.deviceId },
        UpdateExpression: 'SET passwordVerifiers = :next',
        ConditionExpression: 'passwordVerifiers = :current',
        ExpressionAttributeValues: { ':next': next, ':current': current },
      }),
    ),
  );
}
