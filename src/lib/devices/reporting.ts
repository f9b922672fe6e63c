import { type Alert, type AlertPublisher, alertPublisher } from '../alerts/alerts';
import { config } from '../config';
import { logger } from '../logger';
import { count, gauge, MetricName } from '../observability';
import { lastArrivalAt } from '../readings/activity';
import {
  activeDevices,
  changeReportingState,
  type DeviceRecord,
  type ReportingState,
  revertReportingState,
} from './devices';

// Silent devices: a device whose latest reading arrived longer ago than its expected interval (its
// own expectedIntervalSeconds, else SILENT_DEFAULT_SECONDS) is 'silent'. A device that never sent
// anything is judged from its registration. Each transition is claimed with a conditional update, so
// overlapping runs publish it once; a run that finds nothing changed publishes nothing.

export interface SilentDevicesReport {
  checked: number;
  silent: number;
  becameSilent: number;
  recovered: number;
  /** Transitions whose alert could not be published (undone, so the next run retries them). */
  alertFailures: number;
}

const DEVICE_CONCURRENCY = 8;

async function checkDevice(
  device: DeviceRecord,
  now: number,
  publisher: AlertPublisher,
): Promise<{ state: ReportingState; changed: boolean; alertFailed: boolean }> {
  const lastSeen = await lastArrivalAt(device.deviceId, now + 1);
  const reference = lastSeen ?? Date.parse(device.createdAt);
  const expected = device.expectedIntervalSeconds ?? config.SILENT_DEFAULT_SECONDS;
  const state: ReportingState = now - reference > expected * 1000 ? 'silent' : 'reporting';
  const current = device.reportingState ?? 'reporting';
  if (state === current) return { state, changed: false, alertFailed: false };

  const at = new Date(now).toISOString();
  if (!(await changeReportingState(device.deviceId, current, state, at))) {
    // Another run recorded this transition (and publishes its alert).
    return { state, changed: false, alertFailed: false };
  }
  const alert: Alert = {
    type: state === 'silent' ? 'device.silent' : 'device.recovered',
    deviceId: device.deviceId,
    at,
    lastSeenAt: lastSeen === undefined ? null : new Date(lastSeen).toISOString(),
    expectedIntervalSeconds: expected,
  };
  try {
    await publisher.publish(alert);
  } catch (error) {
    logger.error('alert not published; transition undone', {
      deviceId: device.deviceId,
      alertType: alert.type,
      errorName: (error as Error).name,
    });
    await revertReportingState(device.deviceId, state, current, at);
    return { state: current, changed: false, alertFailed: true };
  }
  logger.info('device reporting state changed', { deviceId: device.deviceId, from: current, to: state });
  return { state, changed: true, alertFailed: false };
}

export async function detectSilentDevices(
  now = Date.now(),
  publisher: AlertPublisher = alertPublisher(),
): Promise<SilentDevicesReport> {
  const devices: DeviceRecord[] = [];
  for await (const device of activeDevices()) devices.push(device);
  const report: SilentDevicesReport = {
    checked: 0,
    silent: 0,
    becameSilent: 0,
    recovered: 0,
    alertFailures: 0,
  };
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(DEVICE_CONCURRENCY, devices.length) }, async () => {
      while (next < devices.length) {
        const device = devices[next++] as DeviceRecord;
        const outcome = await checkDevice(device, now, publisher);
        report.checked += 1;
        if (outcome.state === 'silent') report.silent += 1;
        if (outcome.changed && outcome.state === 'silent') report.becameSilent += 1;
        if (outcome.changed && outcome.state === 'reporting') report.recovered += 1;
        if (outcome.alertFailed) report.alertFailures += 1;
      }
    }),
  );
  gauge(MetricName.SilentDevices, report.silent);
  count(MetricName.DeviceStateChanges, report.becameSilent + report.recovered);
  logger.info('silent devices checked', { ...report });
  if (report.alertFailures > 0) {
    // Failing the run makes the failure visible (Lambda errors, retries); the transitions were undone.
    throw new Error(`${report.alertFailures} alert(s) could not be published`);
  }
  return report;
}
