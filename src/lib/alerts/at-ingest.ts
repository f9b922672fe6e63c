import { mapConcurrent } from '../aws/concurrency';
import { config } from '../config';
import { findDevice } from '../devices/devices';
import { logger } from '../logger';
import { count, MetricName } from '../observability';
import { numericField } from '../readings/fields';
import { readingTimeMs } from '../readings/reading-time';
import type { IncomingReading } from '../readings/wire';
import { type AlertPublisher, alertPublisher } from './alerts';
import { type AlertRule, allRules, ruleAppliesTo } from './rules';
import { applyRule, type RuleReading } from './states';

// Alert rules are evaluated where plaintext exists: in ingest, after the request is safely in the
// queue (so a request that fails before that is retried whole and evaluated then, never half). Rules
// are read once per container per ALERT_RULES_CACHE_SECONDS: a rule change reaches ingest within it.

const RULE_CONCURRENCY = 4;
let cache: { rules: Promise<AlertRule[]>; loadedAt: number } | undefined;

function cachedRules(now: number): Promise<AlertRule[]> {
  if (!cache || now - cache.loadedAt >= config.ALERT_RULES_CACHE_SECONDS * 1000) {
    const rules = allRules();
    cache = { rules, loadedAt: now };
    // A failed read is not cached: the next request reads again.
    rules.catch(() => {
      if (cache?.rules === rules) cache = undefined;
    });
  }
  return cache.rules;
}

export interface AcceptedBatch {
  deviceId: string;
  batchId: string;
  arrivedAt: number;
  readings: readonly IncomingReading[];
}

/** Evaluates every rule for the device over the batch; resolves to the number of alerts sent. */
export async function evaluateAlertRules(
  batch: AcceptedBatch,
  publisher: AlertPublisher = alertPublisher(),
): Promise<number> {
  const rules = (await cachedRules(Date.now())).filter((rule) => ruleAppliesTo(rule, batch.deviceId));
  if (rules.length === 0) return 0;
  // Readings sealed with a db_password are evaluated only when the device allows it (default: no).
  const hasProtected = batch.readings.some((reading) => reading.password !== undefined);
  const protectedAllowed =
    hasProtected && (await findDevice(batch.deviceId))?.alertsOnPasswordReadings === true;
  const work = rules.flatMap((rule) => {
    const readings: RuleReading[] = [];
    batch.readings.forEach((reading, index) => {
      const isProtected = reading.password !== undefined;
      if (isProtected && !protectedAllowed) return;
      const value = numericField(reading.freeform, rule.field);
      if (value === undefined) return;
      readings.push({
        at: readingTimeMs(reading.interrogatorTime, batch.arrivedAt),
        batchId: batch.batchId,
        index,
        value,
        protected: isProtected,
      });
    });
    return readings.length > 0 ? [{ rule, readings }] : [];
  });
  let sent = 0;
  await mapConcurrent(work, RULE_CONCURRENCY, async ({ rule, readings }) => {
    sent += (await applyRule(rule, batch.deviceId, readings, publisher)).length;
  });
  return sent;
}

/**
 * For ingest: the readings are already queued, so a failing evaluation must not fail the request (a
 * 5xx would make the device send them again). It is logged and counted (AlertEvaluationFailures
 * alarm); the state it did not write is evaluated by the device's next readings.
 */
export async function evaluateAlertRulesSafely(batch: AcceptedBatch): Promise<void> {
  try {
    const sent = await evaluateAlertRules(batch);
    if (sent > 0) count(MetricName.RuleAlertsSent, sent);
  } catch (error) {
    count(MetricName.AlertEvaluationFailures);
    logger.error('alert rules not evaluated', {
      deviceId: batch.deviceId,
      batchId: batch.batchId,
      errorName: (error as Error).name,
    });
  }
}
