import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { mapConcurrent } from '../aws/concurrency';
import { dynamo, writtenIf } from '../aws/dynamo';
import { queryPages } from '../aws/paging';
import { config } from '../config';
import { DEVICE_ID_PATTERN } from '../devices/credentials';
import { logger } from '../logger';
import { cursorOutsideQuery, decodeCursor, encodeCursor } from '../pagination';
import type { AlertPublisher, RuleAlert } from './alerts';
import {
  type AlertStatus,
  type EvaluatedReading,
  type EvaluationState,
  evaluate,
  initialState,
  type ReadingPosition,
} from './evaluate';
import type { AlertRule } from './rules';

// The state of one rule for one device, one item (pk=state#<ruleId>, sk=<deviceId>), written only with
// a condition on the revision that was read: of two ingests evaluating the same device at once, one
// writes and the other re-reads and evaluates again from the new state (skipping what was already
// evaluated), so each transition is recorded once. Its alert is recorded in the same write as
// `pending` and removed once sent; an alert left pending (the send failed, or the container died
// before sending) is claimed and sent again by a later evaluation, ALERT_RESEND_AFTER_SECONDS later.
// No reading value is ever stored here: only whether the rule's condition held.

interface PendingAlert {
  alert: Omit<RuleAlert, 'value'>;
  claimedAt: number;
}

export interface StateItem {
  pk: string;
  sk: string;
  ruleId: string;
  deviceId: string;
  /** Index keys: byStatus (alertStatus, stateKey) and byDevice (deviceId, ruleId). */
  alertStatus: AlertStatus;
  stateKey: string;
  streak: number;
  streakSince?: number;
  last?: ReadingPosition;
  ruleVersion: number;
  rev: number;
  /** Transitions so far: numbers the alerts (alertId). */
  transitions: number;
  changedAt?: string;
  lastReadingAt?: string;
  field: string;
  severity: AlertRule['severity'];
  pending?: Record<string, PendingAlert>;
}

/** What GET /api/alerts shows of a state. */
export interface AlertState {
  ruleId: string;
  deviceId: string;
  state: AlertStatus;
  severity: AlertRule['severity'];
  field: string;
  /** When the current state began (absent while a device never left 'clear'). */
  since?: string;
  lastReadingAt?: string;
  transitions: number;
}

const statePk = (ruleId: string) => `state#${ruleId}`;
const MAX_WRITE_ATTEMPTS = 5;

const toPublic = (item: StateItem): AlertState => ({
  ruleId: item.ruleId,
  deviceId: item.deviceId,
  state: item.alertStatus,
  severity: item.severity,
  field: item.field,
  since: item.changedAt,
  lastReadingAt: item.lastReadingAt,
  transitions: item.transitions,
});

async function readState(ruleId: string, deviceId: string): Promise<StateItem | undefined> {
  const { Item } = await dynamo.send(
    new GetCommand({
      TableName: config.ALERTS_TABLE,
      Key: { pk: statePk(ruleId), sk: deviceId },
      ConsistentRead: true,
    }),
  );
  return Item as StateItem | undefined;
}

function ruleAlert(
  rule: AlertRule,
  deviceId: string,
  seq: number,
  to: AlertStatus,
  reading: EvaluatedReading,
  at: string,
): Omit<RuleAlert, 'value'> {
  return {
    type: to === 'firing' ? 'rule.firing' : 'rule.cleared',
    alertId: `${rule.ruleId}:${deviceId}:${seq}`,
    ruleId: rule.ruleId,
    ruleName: rule.name,
    deviceId,
    severity: rule.severity,
    field: rule.field,
    comparison: rule.comparison,
    threshold: rule.threshold,
    readingId: `${reading.batchId}-${reading.index}`,
    readingAt: new Date(reading.at).toISOString(),
    at,
  };
}

export interface RuleReading extends EvaluatedReading {
  /** The reading carried a db_password: its value never leaves ingest, not even in an alert. */
  protected: boolean;
}

/**
 * Evaluates one rule over one device's readings and records the outcome; sends the alerts of the
 * transitions it recorded (and of any left pending too long). Returns the alerts sent.
 */
export async function applyRule(
  rule: AlertRule,
  deviceId: string,
  readings: readonly RuleReading[],
  publisher: AlertPublisher,
): Promise<RuleAlert[]> {
  for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
    const item = await readState(rule.ruleId, deviceId);
    const current: EvaluationState = item
      ? {
          status: item.alertStatus,
          streak: item.streak,
          streakSince: item.streakSince,
          last: item.last,
          ruleVersion: item.ruleVersion,
        }
      : initialState(rule.version);
    const { state, transitions, evaluated } = evaluate(rule, current, readings);
    const now = Date.now();
    const staleBefore = now - config.ALERT_RESEND_AFTER_SECONDS * 1000;
    const stale = Object.entries(item?.pending ?? {}).filter(
      ([, pending]) => pending.claimedAt <= staleBefore,
    );
    if (evaluated === 0 && stale.length === 0) return [];

    const at = new Date(now).toISOString();
    const seqBase = item?.transitions ?? 0;
    // Values stay in memory: the alerts sent now carry them, the stored (pending) copies never do.
    const fresh = transitions.map((transition, offset) => {
      const alert = ruleAlert(rule, deviceId, seqBase + offset + 1, transition.to, transition.reading, at);
      const source = readings.find(
        (reading) =>
          reading.batchId === transition.reading.batchId && reading.index === transition.reading.index,
      );
      const sent: RuleAlert = source?.protected ? alert : { ...alert, value: transition.reading.value };
      return { key: String(seqBase + offset + 1), alert, sent };
    });
    const pending: Record<string, PendingAlert> = { ...item?.pending };
    for (const [key, entry] of stale) pending[key] = { ...entry, claimedAt: now };
    for (const { key, alert } of fresh) pending[key] = { alert, claimedAt: now };

    const last = state.last;
    const next: StateItem = {
      pk: statePk(rule.ruleId),
      sk: deviceId,
      ruleId: rule.ruleId,
      deviceId,
      alertStatus: state.status,
      stateKey: `${rule.ruleId}#${deviceId}`,
      streak: state.streak,
      streakSince: state.streakSince,
      last,
      ruleVersion: state.ruleVersion,
      rev: (item?.rev ?? 0) + 1,
      transitions: seqBase + transitions.length,
      changedAt: transitions.length > 0 ? at : item?.changedAt,
      lastReadingAt: last ? new Date(last.at).toISOString() : item?.lastReadingAt,
      field: rule.field,
      severity: rule.severity,
      pending: Object.keys(pending).length > 0 ? pending : undefined,
    };
    const written = await writtenIf(
      dynamo.send(
        new PutCommand({
          TableName: config.ALERTS_TABLE,
          Item: next,
          ...(item
            ? { ConditionExpression: 'rev = :rev', ExpressionAttributeValues: { ':rev': item.rev } }
            : { ConditionExpression: 'attribute_not_exists(pk)' }),
        }),
      ),
    );
    if (!written) continue;

    const toSend = [
      ...stale.map(([key, entry]) => ({ key, sent: entry.alert as RuleAlert })),
      ...fresh.map(({ key, sent }) => ({ key, sent })),
    ];
    const sent: RuleAlert[] = [];
    for (const { key, sent: alert } of toSend) {
      try {
        await publisher.publish(alert);
      } catch (error) {
        // Left pending: a later evaluation of this device sends it again.
        logger.error('rule alert not sent; left pending', {
          alertId: alert.alertId,
          errorName: (error as Error).name,
        });
        continue;
      }
      sent.push(alert);
      await confirmSent(rule.ruleId, deviceId, key, now);
    }
    return sent;
  }
  throw new Error(`alert state of rule ${rule.ruleId} kept changing under ${MAX_WRITE_ATTEMPTS} attempts`);
}

/** Removes a sent alert from `pending`, unless another evaluation has claimed it since. */
async function confirmSent(ruleId: string, deviceId: string, key: string, claimedAt: number): Promise<void> {
  await writtenIf(
    dynamo.send(
      new UpdateCommand({
        TableName: config.ALERTS_TABLE,
        Key: { pk: statePk(ruleId), sk: deviceId },
        // The revision moves too, so an evaluation that read the pending alert re-reads before writing.
        UpdateExpression: 'REMOVE pending.#key SET rev = rev + :one',
        ConditionExpression: 'pending.#key.claimedAt = :claimedAt',
        ExpressionAttributeNames: { '#key': key },
        ExpressionAttributeValues: { ':claimedAt': claimedAt, ':one': 1 },
      }),
    ),
  );
}

/** A rule is gone: its states go too (an ingest still holding the rule in its cache may write one more). */
export async function forgetStates(ruleId: string): Promise<void> {
  for await (const { items } of queryPages({
    TableName: config.ALERTS_TABLE,
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': statePk(ruleId) },
    ProjectionExpression: 'pk, sk',
  })) {
    await mapConcurrent(items, 8, (key) =>
      dynamo.send(new DeleteCommand({ TableName: config.ALERTS_TABLE, Key: { pk: key.pk, sk: key.sk } })),
    );
  }
}

const stateKeyShape = z.string().regex(/^rule_[A-Za-z0-9_-]{16}#[A-Za-z0-9_-]{3,64}$/);
const byStatusCursor = z.strictObject({
  alertStatus: z.enum(['firing', 'clear']),
  stateKey: stateKeyShape,
  pk: z.string().regex(/^state#rule_[A-Za-z0-9_-]{16}$/),
  sk: z.string().regex(DEVICE_ID_PATTERN),
});
const byDeviceCursor = z.strictObject({
  deviceId: z.string().regex(DEVICE_ID_PATTERN),
  ruleId: z.string().regex(/^rule_[A-Za-z0-9_-]{16}$/),
  pk: z.string().regex(/^state#rule_[A-Za-z0-9_-]{16}$/),
  sk: z.string().regex(DEVICE_ID_PATTERN),
});

export interface AlertStatesQuery {
  /** One device's states (in `state` when given), or, without it, every device's in `state` (default firing). */
  deviceId?: string;
  state?: AlertStatus;
  limit: number;
  cursor?: string;
}

/** Alert states, from the byDevice or the byStatus index; those of rules no longer in force left out. */
export async function listAlertStates(
  query: AlertStatesQuery,
  inForce: (ruleId: string, deviceId: string) => boolean,
): Promise<{ data: AlertState[]; next?: string }> {
  const status = query.state ?? 'firing';
  // A cursor resumes only the listing it came from (another device's, or another status's, is a 400).
  let start: Record<string, unknown> | undefined;
  if (query.deviceId !== undefined) {
    const position = decodeCursor(query.cursor, byDeviceCursor);
    if (position && position.deviceId !== query.deviceId) throw cursorOutsideQuery();
    start = position;
  } else {
    const position = decodeCursor(query.cursor, byStatusCursor);
    if (position && position.alertStatus !== status) throw cursorOutsideQuery();
    start = position;
  }
  const byDevice = query.deviceId !== undefined;
  const { Items = [], LastEvaluatedKey } = await dynamo.send(
    new QueryCommand({
      TableName: config.ALERTS_TABLE,
      IndexName: byDevice ? 'byDevice' : 'byStatus',
      KeyConditionExpression: byDevice ? 'deviceId = :key' : 'alertStatus = :key',
      ...(byDevice && query.state
        ? {
            FilterExpression: 'alertStatus = :state',
            ExpressionAttributeValues: { ':key': query.deviceId, ':state': query.state },
          }
        : { ExpressionAttributeValues: { ':key': byDevice ? query.deviceId : status } }),
      Limit: query.limit,
      ExclusiveStartKey: start,
    }),
  );
  const data = (Items as StateItem[]).filter((item) => inForce(item.ruleId, item.deviceId)).map(toPublic);
  return { data, next: encodeCursor(LastEvaluatedKey) };
}
