import type { AlertStatus } from './evaluate';
import { allRules, ruleAppliesTo } from './rules';
import { type AlertState, listAlertStates } from './states';

/**
 * GET /api/alerts: states of rules that are still in force for their device. A rule deleted, disabled,
 * or no longer naming the device stops being evaluated without a 'cleared' alert: its states are not
 * listed (a deleted rule's are deleted too).
 */
export async function listCurrentAlerts(query: {
  deviceId?: string;
  state?: AlertStatus;
  limit: number;
  cursor?: string;
}): Promise<{ data: AlertState[]; next?: string }> {
  const rules = new Map((await allRules()).map((rule) => [rule.ruleId, rule]));
  return listAlertStates(query, (ruleId, deviceId) => {
    const rule = rules.get(ruleId);
    return rule !== undefined && ruleAppliesTo(rule, deviceId);
  });
}
