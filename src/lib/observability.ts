import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricUnit as MetricUnitType } from '@aws-lambda-powertools/metrics/types';
import type { MiddlewareObj } from '@middy/core';
import { takeCallTimings } from './aws/call-timings';
import { logger } from './logger';

// Metrics (CloudWatch Embedded Metric Format, printed to stdout) and the time spent in AWS calls,
// shared by every function through the middy middlewares below. Tracing needs no SDK here: Lambda's
// active tracing records each invocation, and the AWS SDK forwards its trace header to SQS. Metric names are listed here so alarms in
// serverless.yml and the functions that emit them cannot drift apart.
const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? process.env.SERVICE_NAME ?? 'sensorcloud';

const metricsNamespace = process.env.POWERTOOLS_METRICS_NAMESPACE ?? serviceName;

export const metrics = new Metrics({ namespace: metricsNamespace, serviceName });

export const MetricName = {
  /** Per HTTP request, with a `function` dimension (alarm: ingest 5xx rate). */
  Requests: 'Requests',
  /** 4xx answers: invalid or unauthorised requests (on ingest-readings: rejected readings requests). */
  Rejected: 'Rejected',
  /** 5xx answers. */
  Failed: 'Failed',
  ReadingsAccepted: 'ReadingsAccepted',
  /** Accepted readings whose interrogator_time was outside arrival ± the clock-skew window. */
  ClockSkewFlagged: 'ClockSkewFlagged',
  /** Ingest requests refused because a reading's clock was outside the window (action `reject`). */
  ClockSkewRejected: 'ClockSkewRejected',
  ReadingsStored: 'ReadingsStored',
  MessagesStored: 'MessagesStored',
  BatchItemFailures: 'BatchItemFailures',
  MalformedMessages: 'MalformedMessages',
  DecryptFailures: 'DecryptFailures',
  /** A db_password that matched none of the device's (each one counts toward the guess limit). */
  PasswordMismatches: 'PasswordMismatches',
  /** Password queries refused with 429 because the device's guesses for the window are spent. */
  PasswordGuessesRefused: 'PasswordGuessesRefused',
  ImagesProcessed: 'ImagesProcessed',
  ImagesRejected: 'ImagesRejected',
  ImageProcessingMs: 'ImageProcessingMs',
  ImageCacheHits: 'ImageCacheHits',
  ImageCacheMisses: 'ImageCacheMisses',
  ImageCacheEvictions: 'ImageCacheEvictions',
  ImageCacheItems: 'ImageCacheItems',
  ImageCacheBytes: 'ImageCacheBytes',
  // Written by the scheduled jobs.
  IngestedReadings: 'IngestedReadings',
  QueueDepth: 'QueueDepth',
  QueueOldestMessageAge: 'QueueOldestMessageAge',
  DlqDepth: 'DlqDepth',
  SilentDevices: 'SilentDevices',
  DeviceStateChanges: 'DeviceStateChanges',
  DlqMessagesRedriven: 'DlqMessagesRedriven',
  /** Alerts of rules on values sent by ingest (rule.firing / rule.cleared). */
  RuleAlertsSent: 'RuleAlertsSent',
  /** Ingest requests whose alert-rule evaluation failed (readings accepted; alarm). */
  AlertEvaluationFailures: 'AlertEvaluationFailures',
} as const;
export type MetricName = (typeof MetricName)[keyof typeof MetricName];

export const count = (name: MetricName, value = 1) => metrics.addMetric(name, MetricUnit.Count, value);
export const gauge = (name: MetricName, value: number, unit: MetricUnitType = MetricUnit.Count) =>
  metrics.addMetric(name, unit, value);
export const milliseconds = (name: MetricName, value: number) =>
  metrics.addMetric(name, MetricUnit.Milliseconds, value);

// For metrics with extra dimensions, flushed at once (the shared set keeps `service` only). One
// instance reused, not metrics.singleMetric() per call: that builds a new Metrics (a new Console, every
// setting read again from the environment) and was most of the wrapper's warm per-request cost.
let dimensioned: Metrics | undefined;

/** A metric carrying an extra dimension, flushed at once. */
export function countWith(name: MetricName, dimensions: Record<string, string>, value = 1): void {
  dimensioned ??= new Metrics({ namespace: metricsNamespace, serviceName });
  for (const [key, dimension] of Object.entries(dimensions)) dimensioned.addDimension(key, dimension);
  dimensioned.addMetric(name, MetricUnit.Count, value);
  dimensioned.publishStoredMetrics();
}

/** Flushes what the invocation recorded; nothing is printed when it recorded nothing. */
function publishMetrics(): MiddlewareObj {
  const flush = async () => {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  };
  return { after: flush, onError: flush };
}

/** One log line per invocation with the count and total duration of each AWS call it made. */
function logCallTimings(): MiddlewareObj {
  const log = async () => {
    const awsCalls = takeCallTimings();
    if (Object.keys(awsCalls).length > 0) logger.info('aws calls', { awsCalls });
  };
  return { after: log, onError: log };
}

/**
 * Logger (JSON, Lambda context, keys reset per invocation), AWS call timings and Metrics. Every
 * handler wrapper uses this list.
 */
export const observability = (): MiddlewareObj[] => [
  injectLambdaContext(logger, { resetKeys: true }) as MiddlewareObj,
  logCallTimings(),
  publishMetrics(),
];

export { MetricUnit };
