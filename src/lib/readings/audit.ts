import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { dynamo } from '../aws/dynamo';
import { config } from '../config';
import { cursorOutsideQuery, decodeCursor, encodeCursor } from '../pagination';
import type { AuditEntry } from './messages';

// The audit trail: one entry per write request and per query (who, route, device, rows, when), and
// one per administrative change (who, route, what it changed), partitioned by UTC day so listing is a
// Query per day, newest first.
export interface AuditItem extends Record<string, unknown> {
  day: string;
  entryKey: string;
}

/** An administrative change: `target` names what changed (an alert rule's id…). */
export interface AdminAuditEntry {
  requestId: string;
  at: number;
  actor: string;
  route: string;
  action: 'alert-rule.create' | 'alert-rule.change' | 'alert-rule.delete';
  target: string;
}

const dayOf = (epochMs: number) => new Date(epochMs).toISOString().slice(0, 10);

export function auditItem(entry: AuditEntry | AdminAuditEntry): AuditItem {
  return {
    day: dayOf(entry.at),
    entryKey: `${new Date(entry.at).toISOString()}#${entry.requestId}`,
    ...entry,
  };
}

export async function recordAudit(entry: AuditEntry): Promise<void> {
  await dynamo.send(new PutCommand({ TableName: config.AUDIT_TABLE, Item: auditItem(entry) }));
}

// A real calendar day, and an entry key of that very day (the key Query resumes after).
const cursorShape = z
  .strictObject({
    day: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/)
      .refine((day) => {
        const at = Date.parse(`${day}T00:00:00Z`);
        return Number.isFinite(at) && dayOf(at) === day;
      }),
    entryKey: z
      .string()
      .max(300)
      .regex(/^\d{4}-\d{2}-\d{2}T[\d:.]+Z#\S+$/)
      .optional(),
  })
  .refine((cursor) => cursor.entryKey === undefined || cursor.entryKey.startsWith(`${cursor.day}T`));

type ListedEntry = Omit<AuditEntry, 'at' | 'action' | 'deviceId' | 'rows'> &
  Partial<Pick<AuditEntry, 'deviceId' | 'rows'>> & {
    action: AuditEntry['action'] | AdminAuditEntry['action'];
    target?: string;
    at: string;
  };

export interface AuditPage {
  data: ListedEntry[];
  next?: string;
}

/** Newest first, walking back day by day until `limit` entries or `days` days have been read. */
export async function listAudit(limit: number, days: number, cursor?: string): Promise<AuditPage> {
  const position = decodeCursor(cursor, cursorShape);
  const today = Date.parse(`${dayOf(Date.now())}T00:00:00Z`);
  const oldest = today - (days - 1) * 86_400_000;
  let day = position ? Date.parse(`${position.day}T00:00:00Z`) : today;
  // A day after today was never handed out, and walking back from it would be unbounded work.
  if (day > today) throw cursorOutsideQuery();
  let startKey: Record<string, unknown> | undefined = position?.entryKey
    ? { day: position.day, entryKey: position.entryKey }
    : undefined;
  const data: AuditPage['data'] = [];
  while (day >= oldest && data.length < limit) {
    const { Items = [], LastEvaluatedKey } = await dynamo.send(
      new QueryCommand({
        TableName: config.AUDIT_TABLE,
        KeyConditionExpression: '#day = :day',
        ExpressionAttributeNames: { '#day': 'day' },
        ExpressionAttributeValues: { ':day': dayOf(day) },
        ScanIndexForward: false,
        Limit: limit - data.length,
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of Items) {
      const { requestId, actor, route, deviceId, rows, action, target, outcome, keyId, sourceIp, at } =
        item as ListedEntry & Pick<AuditEntry, 'at' | 'outcome' | 'keyId' | 'sourceIp'>;
      data.push({
        requestId,
        actor,
        route,
        deviceId,
        rows,
        action,
        ...(target === undefined ? {} : { target }),
        ...(outcome === undefined ? {} : { outcome }),
        ...(keyId === undefined ? {} : { keyId }),
        ...(sourceIp === undefined ? {} : { sourceIp }),
        at: new Date(at).toISOString(),
      });
    }
    if (LastEvaluatedKey) {
      startKey = LastEvaluatedKey;
      if (data.length >= limit) return { data, next: encodeCursor(LastEvaluatedKey) };
    } else {
      startKey = undefined;
      day -= 86_400_000;
      if (data.length >= limit && day >= oldest) return { data, next: encodeCursor({ day: dayOf(day) }) };
    }
  }
  return { data };
}
