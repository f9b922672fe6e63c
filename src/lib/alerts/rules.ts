import { randomBytes } from 'node:crypto';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { batchGet } from '../aws/batch';
import { dynamo, transactWrittenIf } from '../aws/dynamo';
import { queryAll } from '../aws/paging';
import { config } from '../config';
import { DEVICE_ID_PATTERN } from '../devices/credentials';
import { ConflictError, NotFoundError, ValidationError } from '../errors';
import { decodeCursor, encodeCursor } from '../pagination';
import { type AdminAuditEntry, auditItem } from '../readings/audit';
import { FIELD_PATH, MAX_FIELD_PATH_LENGTH } from '../readings/fields';
import { isWellFormedText, WELL_FORMED_MESSAGE } from '../validation';
import { COMPARISON_NAMES, COMPARISONS, type Comparison, type RuleCondition } from './evaluate';
import { forgetStates } from './states';

// Alert rules: at most MAX_ALERT_RULES per account (a counter item moved in the same transaction as
// the rule, so concurrent creations cannot pass the limit), each for at most MAX_DEVICES_PER_RULE
// devices or for all. Every change is one transaction with its audit entry, conditioned on the
// version the change was based on: a concurrent change is a 409, never a lost update.

export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface AlertRule extends RuleCondition {
  ruleId: string;
  name?: string;
  devices: 'all' | string[];
  severity: Severity;
  enabled: boolean;
  version: number;
  createdAt: string;
  updatedAt: string;
}

const RULE_PK = 'rule';
const COUNT_KEY = { pk: 'rule-count', sk: 'rule-count' };
export const RULE_ID_PATTERN = /^rule_[A-Za-z0-9_-]{16}$/;

const comparison = z.string().transform((value, ctx) => {
  const normalized = (COMPARISONS as readonly string[]).includes(value)
    ? (value as Comparison)
    : COMPARISON_NAMES[value.toLowerCase()];
  if (!normalized) {
    ctx.addIssue({ code: 'custom', message: `one of ${COMPARISONS.join(' ')} or gt gte lt lte eq ne` });
    return z.NEVER;
  }
  return normalized;
});

const devices = z.union([
  z.literal('all'),
  z
    .array(z.string().regex(DEVICE_ID_PATTERN, 'not a device id'))
    .min(1)
    .refine((ids) => ids.length <= config.MAX_DEVICES_PER_RULE, {
      message: `at most ${config.MAX_DEVICES_PER_RULE} devices per rule (or "all")`,
    })
    .transform((ids) => [...new Set(ids)].sort()),
]);

const ruleFields = {
  name: z.string().min(1).max(200).refine(isWellFormedText, WELL_FORMED_MESSAGE),
  devices,
  field: z
    .string()
    .max(MAX_FIELD_PATH_LENGTH)
    .regex(FIELD_PATH, 'a dot path of at most 4 keys of letters, digits, _ and -'),
  comparison,
  threshold: z.number().finite(),
  forSeconds: z
    .number()
    .int()
    .min(0)
    .max(7 * 86_400),
  forReadings: z.number().int().min(1).max(1_000),
  severity: z.enum(SEVERITIES),
  enabled: z.boolean(),
};

const oneHold = (rule: { forSeconds?: number; forReadings?: number }) =>
  rule.forSeconds === undefined || rule.forReadings === undefined;
const HOLD_MESSAGE = 'give forSeconds or forReadings, not both';

export const newRuleSchema = z
  .strictObject({
    ...ruleFields,
    name: ruleFields.name.optional(),
    forSeconds: ruleFields.forSeconds.optional(),
    forReadings: ruleFields.forReadings.optional(),
    severity: ruleFields.severity.default('warning'),
    enabled: ruleFields.enabled.default(true),
  })
  .refine(oneHold, { message: HOLD_MESSAGE, path: ['forSeconds'] });
export type NewRule = z.output<typeof newRuleSchema>;

/** A change: any subset of the fields; `name: null` removes the name. */
export const ruleChangeSchema = z
  .strictObject({
    ...ruleFields,
    name: ruleFields.name.nullable(),
  })
  .partial()
  .refine(oneHold, { message: HOLD_MESSAGE, path: ['forSeconds'] })
  .refine((change) => Object.keys(change).length > 0, { message: 'nothing to change' });
export type RuleChange = z.output<typeof ruleChangeSchema>;

/** Whether ingest evaluates the rule for this device. */
export const ruleAppliesTo = (rule: AlertRule, deviceId: string): boolean =>
  rule.enabled && (rule.devices === 'all' || rule.devices.includes(deviceId));

const ruleItem = (rule: AlertRule) => ({ pk: RULE_PK, sk: rule.ruleId, ...rule });

/** A rule as the API shows it: its fields in one order, whatever order the table returns them in. */
export function publicRule(item: Record<string, unknown>): AlertRule {
  const rule = item as unknown as AlertRule;
  return {
    ruleId: rule.ruleId,
    name: rule.name,
    devices: rule.devices,
    field: rule.field,
    comparison: rule.comparison,
    threshold: rule.threshold,
    forSeconds: rule.forSeconds,
    forReadings: rule.forReadings,
    severity: rule.severity,
    enabled: rule.enabled,
    version: rule.version,
    createdAt: rule.createdAt,
    updatedAt: rule.updatedAt,
  };
}

async function requireDevicesExist(ids: AlertRule['devices']): Promise<void> {
  if (ids === 'all') return;
  const found = await batchGet(
    config.DEVICES_TABLE,
    ids.map((deviceId) => ({ deviceId })),
    ['deviceId'],
    { projection: 'deviceId' },
  );
  const known = new Set(found.map((item) => item.deviceId));
  const missing = ids.find((id) => !known.has(id));
  if (missing) throw new ValidationError(`devices: no device ${missing}`, { field: 'devices' });
}

interface Actor {
  requestId: string;
  actor: string;
  route: string;
}

const audit = (who: Actor, action: AdminAuditEntry['action'], ruleId: string, at: number) => ({
  Put: {
    TableName: config.AUDIT_TABLE,
    Item: auditItem({ ...who, at, action, target: ruleId }),
  },
});

export async function createRule(input: NewRule, who: Actor): Promise<AlertRule> {
  await requireDevicesExist(input.devices);
  const now = Date.now();
  const at = new Date(now).toISOString();
  const { forSeconds, forReadings, ...rest } = input;
  const rule: AlertRule = {
    ...rest,
    ...(forSeconds === undefined ? { forReadings: forReadings ?? 1 } : { forSeconds }),
    ruleId: `rule_${randomBytes(12).toString('base64url')}`,
    version: 1,
    createdAt: at,
    updatedAt: at,
  };
  const created = await transactWrittenIf({
    TransactItems: [
      {
        Put: {
          TableName: config.ALERTS_TABLE,
          Item: ruleItem(rule),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      {
        Update: {
          TableName: config.ALERTS_TABLE,
          Key: COUNT_KEY,
          UpdateExpression: 'SET ruleCount = if_not_exists(ruleCount, :zero) + :one',
          ConditionExpression: 'attribute_not_exists(ruleCount) OR ruleCount < :max',
          ExpressionAttributeValues: { ':zero': 0, ':one': 1, ':max': config.MAX_ALERT_RULES },
        },
      },
      audit(who, 'alert-rule.create', rule.ruleId, now),
    ],
  });
  // The rule id is new and random: the only condition that can fail is the count.
  if (!created) throw new ConflictError(`At most ${config.MAX_ALERT_RULES} alert rules; delete one first`);
  return publicRule(rule as unknown as Record<string, unknown>);
}

export async function findRule(ruleId: string): Promise<AlertRule | undefined> {
  const { Item } = await dynamo.send(
    new GetCommand({
      TableName: config.ALERTS_TABLE,
      Key: { pk: RULE_PK, sk: ruleId },
      ConsistentRead: true,
    }),
  );
  return Item ? publicRule(Item) : undefined;
}

export async function getRule(ruleId: string): Promise<AlertRule> {
  const rule = await findRule(ruleId);
  if (!rule) throw new NotFoundError(`No alert rule ${ruleId}`);
  return rule;
}

/** Every rule (bounded by MAX_ALERT_RULES: one partition, a page or two). */
export async function allRules(): Promise<AlertRule[]> {
  const items = await queryAll({
    TableName: config.ALERTS_TABLE,
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': RULE_PK },
  });
  return items.map(publicRule);
}

const listCursor = z.strictObject({ pk: z.literal(RULE_PK), sk: z.string().regex(RULE_ID_PATTERN) });

export async function listRules(
  limit: number,
  cursor?: string,
): Promise<{ rules: AlertRule[]; next?: string }> {
  const { Items = [], LastEvaluatedKey } = await dynamo.send(
    new QueryCommand({
      TableName: config.ALERTS_TABLE,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': RULE_PK },
      Limit: limit,
      ExclusiveStartKey: decodeCursor(cursor, listCursor),
    }),
  );
  return { rules: Items.map(publicRule), next: encodeCursor(LastEvaluatedKey) };
}

const staleVersion = (ruleId: string, version: number) =>
  new ConflictError(`Alert rule ${ruleId} is at version ${version}; read it again and retry the change`);

/**
 * Applies `change` to the rule as it is at `expectedVersion` (the client's If-Match) or, without one,
 * as read here; a change made meanwhile by someone else fails with 409 instead of being overwritten.
 */
export async function changeRule(
  ruleId: string,
  change: RuleChange,
  who: Actor,
  expectedVersion?: number,
): Promise<AlertRule> {
  const current = await getRule(ruleId);
  if (expectedVersion !== undefined && expectedVersion !== current.version) {
    throw staleVersion(ruleId, current.version);
  }
  if (change.devices !== undefined) await requireDevicesExist(change.devices);
  const now = Date.now();
  const { name, forSeconds, forReadings, ...rest } = change;
  const next: AlertRule = {
    ...current,
    ...rest,
    version: current.version + 1,
    updatedAt: new Date(now).toISOString(),
  };
  if (name === null) delete next.name;
  else if (name !== undefined) next.name = name;
  // Switching between the two kinds of hold replaces the other one.
  if (forSeconds !== undefined) {
    next.forSeconds = forSeconds;
    delete next.forReadings;
  } else if (forReadings !== undefined) {
    next.forReadings = forReadings;
    delete next.forSeconds;
  }
  const changed = await transactWrittenIf({
    TransactItems: [
      {
        Put: {
          TableName: config.ALERTS_TABLE,
          Item: ruleItem(next),
          ConditionExpression: 'version = :read',
          ExpressionAttributeValues: { ':read': current.version },
        },
      },
      audit(who, 'alert-rule.change', ruleId, now),
    ],
  });
  if (!changed) {
    const now = await findRule(ruleId);
    if (!now) throw new NotFoundError(`No alert rule ${ruleId}`);
    throw staleVersion(ruleId, now.version);
  }
  return publicRule(next as unknown as Record<string, unknown>);
}

export async function deleteRule(ruleId: string, who: Actor, expectedVersion?: number): Promise<AlertRule> {
  const current = await getRule(ruleId);
  const version = expectedVersion ?? current.version;
  if (version !== current.version) throw staleVersion(ruleId, current.version);
  const deleted = await transactWrittenIf({
    TransactItems: [
      {
        Delete: {
          TableName: config.ALERTS_TABLE,
          Key: { pk: RULE_PK, sk: ruleId },
          ConditionExpression: 'version = :read',
          ExpressionAttributeValues: { ':read': version },
        },
      },
      {
        Update: {
          TableName: config.ALERTS_TABLE,
          Key: COUNT_KEY,
          UpdateExpression: 'SET ruleCount = ruleCount - :one',
          ConditionExpression: 'ruleCount > :zero',
          ExpressionAttributeValues: { ':zero': 0, ':one': 1 },
        },
      },
      audit(who, 'alert-rule.delete', ruleId, Date.now()),
    ],
  });
  if (!deleted) {
    const now = await findRule(ruleId);
    if (!now) throw new NotFoundError(`No alert rule ${ruleId}`);
    throw staleVersion(ruleId, now.version);
  }
  await forgetStates(ruleId);
  return current;
}
