import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo, writtenIf } from '../aws/dynamo';
import { config } from '../config';
import { TooManyRequestsError } from '../errors';
import type { ExportFormat } from './encoders';
import type { ExportedObject } from './partitions';
import type { SealedPassword } from './sealed-password';

// The exports table holds two kinds of items, both expiring through `expiresAt`:
//   job:  exportId = <uuid>                 the request, its status and, when done, its files
//   slot: exportId = slot#<owner>#<n>       one of a caller's EXPORT_MAX_CONCURRENT places, leased
// A slot is taken with a conditional put (free, or its lease ran out) and given back when the export
// ends; a worker that dies silently gives it back by its lease running out.

export type ExportStatus = 'queued' | 'running' | 'done' | 'failed';

/** Who asked: a device id, or 'admin' (the administrators share one set of slots). */
export type Owner = string;

export interface ExportWindow {
  start?: number;
  end?: number;
}

export interface ExportFailure {
  code: string;
  message: string;
  /** Ids of readings that failed authentication (tampered or misplaced), at most 100. */
  unreadable?: string[];
}

export interface ExportJob {
  exportId: string;
  owner: Owner;
  /** One device, or '*' for every device (administrators only). */
  device: string;
  format: ExportFormat;
  window: ExportWindow;
  status: ExportStatus;
  slot: string;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  rows?: number;
  /** Rows passed over because they were sealed with a db_password the request did not carry. */
  hidden?: number;
  objects?: ExportedObject[];
  error?: ExportFailure;
  /** Only while the export is queued or running (see sealed-password.ts). */
  sealedPassword?: SealedPassword;
  attempts?: number;
  expiresAt: number;
}

export const ALL_DEVICES = '*';

const retentionEnd = (now: number) => Math.floor(now / 1000) + config.EXPORT_RETENTION_DAYS * 86_400;

/** Takes one of the owner's slots for this export, or refuses with 429. */
export async function takeSlot(owner: Owner, exportId: string): Promise<string> {
  const now = Date.now();
  const leaseUntil = now + config.EXPORT_SLOT_LEASE_SECONDS * 1000;
  for (let place = 0; place < config.EXPORT_MAX_CONCURRENT; place += 1) {
    const slot = `slot#${owner}#${place}`;
    const taken = await writtenIf(
      dynamo.send(
        new PutCommand({
          TableName: config.EXPORTS_TABLE,
          Item: { exportId: slot, holder: exportId, leaseUntil, expiresAt: Math.ceil(leaseUntil / 1000) },
          ConditionExpression: 'attribute_not_exists(exportId) OR leaseUntil < :now',
          ExpressionAttributeValues: { ':now': now },
        }),
      ),
    );
    if (taken) return slot;
  }
  throw new TooManyRequestsError(
    `At most ${config.EXPORT_MAX_CONCURRENT} exports may be queued or running at once; retry when one has finished`,
    30,
  );
}

/** Gives the slot back, if this export still holds it. */
export async function releaseSlot(slot: string, exportId: string): Promise<void> {
  await writtenIf(
    dynamo.send(
      new DeleteCommand({
        TableName: config.EXPORTS_TABLE,
        Key: { exportId: slot },
        ConditionExpression: 'holder = :id',
        ExpressionAttributeValues: { ':id': exportId },
      }),
    ),
  );
}

export async function putJob(job: Omit<ExportJob, 'expiresAt'>): Promise<void> {
  await dynamo.send(
    new PutCommand({
      TableName: config.EXPORTS_TABLE,
      Item: { ...job, expiresAt: retentionEnd(job.createdAt) },
      ConditionExpression: 'attribute_not_exists(exportId)',
    }),
  );
}

export async function getJob(exportId: string): Promise<ExportJob | undefined> {
  const { Item } = await dynamo.send(
    new GetCommand({ TableName: config.EXPORTS_TABLE, Key: { exportId }, ConsistentRead: true }),
  );
  return Item as ExportJob | undefined;
}

/** queued (or running, on a retry) → running; false when the export has already ended. */
export async function markRunning(exportId: string): Promise<boolean> {
  return writtenIf(
    dynamo.send(
      new UpdateCommand({
        TableName: config.EXPORTS_TABLE,
        Key: { exportId },
        UpdateExpression: 'SET #status = :running, startedAt = :now ADD attempts :one',
        ConditionExpression: '#status IN (:queued, :running)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':running': 'running',
          ':queued': 'queued',
          ':now': Date.now(),
          ':one': 1,
        },
      }),
    ),
  );
}

/**
 * The export's end, written once: its outcome in, the sealed password out. False when it had
 * already ended (a redelivered message), so the caller neither audits nor releases twice.
 */
export async function markEnded(
  exportId: string,
  outcome:
    | { status: 'done'; rows: number; hidden: number; objects: ExportedObject[] }
    | { status: 'failed'; rows: number; hidden: number; error: ExportFailure },
): Promise<boolean> {
  const { status, ...fields } = outcome;
  const names: Record<string, string> = { '#status': 'status' };
  const values: Record<string, unknown> = {
    ':status': status,
    ':now': Date.now(),
    ':queued': 'queued',
    ':running': 'running',
  };
  const sets = ['#status = :status', 'finishedAt = :now'];
  for (const [name, value] of Object.entries(fields)) {
    names[`#${name}`] = name;
    values[`:${name}`] = value;
    sets.push(`#${name} = :${name}`);
  }
  return writtenIf(
    dynamo.send(
      new UpdateCommand({
        TableName: config.EXPORTS_TABLE,
        Key: { exportId },
        UpdateExpression: `SET ${sets.join(', ')} REMOVE sealedPassword`,
        ConditionExpression: '#status IN (:queued, :running)',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    ),
  );
}
