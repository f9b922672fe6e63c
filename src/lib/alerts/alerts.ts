import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PublishCommand } from '@aws-sdk/client-sns';
import { sns } from '../aws/sns';
import { config } from '../config';

// Operator alerts. In AWS they go to the alerts SNS topic (the same one the CloudWatch alarms use);
// offline, where there is no SNS, each alert is appended as one JSON line to a file, which is what a
// developer (or a test) reads. Alerts carry ids, states and times, never secrets; the one reading
// value they may carry is a rule alert's, under the conditions on RuleAlert. Subjects carry ids only
// (SNS accepts ASCII subjects; names are free text).
export interface DeviceReportingAlert {
  type: 'device.silent' | 'device.recovered';
  deviceId: string;
  /** When the transition was recorded (ISO). */
  at: string;
  /** Latest stored reading's arrival (ISO), null when the device never sent any. */
  lastSeenAt: string | null;
  expectedIntervalSeconds: number;
}

/** A device spent its wrong-db_password allowance: someone holding its token may be guessing. */
export interface PasswordGuessingAlert {
  type: 'device.password-guessing';
  deviceId: string;
  at: string;
  /** Wrong guesses allowed per window, all spent. */
  guesses: number;
  windowSeconds: number;
  /** Until when password queries of this device are refused (ISO). */
  refusedUntil: string;
}

/**
 * An alert rule on values started firing or cleared for a device. `value` is the reading's value that
 * completed the transition: present only for a reading without a db_password (one any key holder can
 * read anyway), and only when sent by the ingest that saw it (a resent alert has none: the value is
 * never stored). `alertId` is the same on a resend, so a subscriber can drop duplicates.
 */
export interface RuleAlert {
  type: 'rule.firing' | 'rule.cleared';
  alertId: string;
  ruleId: string;
  ruleName?: string;
  deviceId: string;
  severity: 'info' | 'warning' | 'critical';
  field: string;
  comparison: string;
  threshold: number;
  value?: number;
  /** The reading that completed the transition: its id and time (ISO). */
  readingId: string;
  readingAt: string;
  /** When the transition was recorded (ISO). */
  at: string;
}

export type Alert = DeviceReportingAlert | PasswordGuessingAlert | RuleAlert;

export interface AlertPublisher {
  publish(alert: Alert): Promise<void>;
}

const what: Record<Alert['type'], string> = {
  'device.silent': 'is silent',
  'device.recovered': 'is reporting again',
  'device.password-guessing': 'spent its db_password guesses',
  'rule.firing': 'is firing',
  'rule.cleared': 'cleared',
};

const subject = (alert: Alert) =>
  (alert.type === 'rule.firing' || alert.type === 'rule.cleared'
    ? `${config.SERVICE_NAME} ${config.STAGE}: ${alert.severity} rule ${alert.ruleId} ${what[alert.type]} for device ${alert.deviceId}`
    : `${config.SERVICE_NAME} ${config.STAGE}: device ${alert.deviceId} ${what[alert.type]}`
  ).slice(0, 99);

export const snsAlertPublisher = (topicArn: string): AlertPublisher => ({
  async publish(alert) {
    await sns.send(
      new PublishCommand({
        TopicArn: topicArn,
        Subject: subject(alert),
        Message: JSON.stringify({ ...alert, stage: config.STAGE }),
        MessageAttributes: { type: { DataType: 'String', StringValue: alert.type } },
      }),
    );
  },
});

export const fileAlertPublisher = (file: string): AlertPublisher => ({
  async publish(alert) {
    await mkdir(path.dirname(file), { recursive: true });
    // One write per line with O_APPEND: concurrent runs do not interleave within a line.
    await appendFile(file, `${JSON.stringify({ ...alert, stage: config.STAGE, subject: subject(alert) })}\n`);
  },
});

export function alertPublisher(): AlertPublisher {
  return config.ALERT_SINK === 'file'
    ? fileAlertPublisher(config.LOCAL_ALERTS_FILE as string)
    : snsAlertPublisher(config.ALERTS_TOPIC_ARN as string);
}
