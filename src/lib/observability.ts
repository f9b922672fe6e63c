import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricUnit as MetricUnitType } from '@aws-lambda-powertools/metrics/types';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { MiddlewareObj } from '@middy/core';
import { logger } from './logger';

// Metrics (CloudWatch Embedded Metric Format, printed to stdout) and X-Ray tracing, shared by every
// function through the middy middlewares below. Metric names are listed here so alarms in
// serverless.yml and the functions that emit them cannot drift apart.
const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? process.env.SERVICE_NAME ?? 'sensorcloud';

export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? serviceName,
  serviceName,
});

// Disabled offline (POWERTOOLS_TRACE_ENABLED=false) and wherever this is not Lambda.
export const tracer = new Tracer({ serviceName });

export const MetricName = {
  /** Per HTTP request, with a `function` dimension (alarm: ingest 5xx rate). */
  Requests: 'Requests',
  /** 4xx answers: invalid or unauthorised requests (on ingest-readings: rejected readings requests). */
  Rejected: 'Rejected',
  /** 5xx answers. */
  Failed: 'Failed',
  ReadingsAccepted: 'ReadingsAccepted',
  ReadingsStored: 'ReadingsStored',
  MessagesStored: 'MessagesStored',
  BatchItemFailures: 'BatchItemFailures',
  MalformedMessages: 'MalformedMessages',
  DecryptFailures: 'DecryptFailures',
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
} as const;
export type MetricName = (typeof MetricName)[keyof typeof MetricName];

export const count = (name: MetricName, value = 1) => metrics.addMetric(name, MetricUnit.Count, value);
export const gauge = (name: MetricName, value: number, unit: MetricUnitType = MetricUnit.Count) =>
  metrics.addMetric(name, unit, value);
export const milliseconds = (name: MetricName, value: number) =>
  metrics.addMetric(name, MetricUnit.Milliseconds, value);

/** A metric carrying an extra dimension, flushed at once (the shared set keeps `service` only). */
export function countWith(name: MetricName, dimensions: Record<string, string>, value = 1): void {
  const single = metrics.singleMetric();
  for (const [key, dimension] of Object.entries(dimensions)) single.addDimension(key, dimension);
  single.addMetric(name, MetricUnit.Count, value);
}

/** Flushes what the invocation recorded; nothing is printed when it recorded nothing. */
function publishMetrics(): MiddlewareObj {
  const flush = async () => {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  };
  return { after: flush, onError: flush };
}

/**
 * Logger (JSON, Lambda context, keys reset per invocation), Tracer (never the response: it can hold
 * readings' plaintext) and Metrics. Every handler wrapper uses this list.
 */
export const observability = (): MiddlewareObj[] => [
  injectLambdaContext(logger, { resetKeys: true }) as MiddlewareObj,
  captureLambdaHandler(tracer, { captureResponse: false }) as MiddlewareObj,
  publishMetrics(),
];

export { MetricUnit };
