import type { AlertStatus } from './evaluate';
import { allRules } from './rules';
import { type AlertState, listAlertStates } from './states';

/** GET /api/alerts: states of rules that still exist (a deleted rule's last states may linger briefly). */
export async function listCurrentAlerts(query: {
  deviceId?: string;
  state?: AlertStatus;
  limit: number;
  cursor?: string;
}): Promise<{ data: AlertState[]; next?: string }> {
  const ruleIds = new Set((await allRules()).map((rule) => rule.ruleId));
  return listAlertStates(query, (ruleId) => ruleIds.has(ruleId));
}
