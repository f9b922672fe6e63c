import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { dynamoClient } from './aws/dynamo';
import { s3 } from './aws/s3';
import { sqs } from './aws/sqs';
import { config } from './config';
import { logger } from './logger';

export type DependencyName = 'dynamodb' | 'sqs' | 's3';
export type DependencyStatus = { status: 'ok'; latencyMs: number } | { status: 'down'; reason: string };

export interface HealthReport {
  status: 'ok' | 'degraded';
  stage: string;
  version: string;
  dependencies: Record<DependencyName, DependencyStatus>;
}

const CHECK_TIMEOUT_MS = 2_000;

async function probe(name: DependencyName, check: (signal: AbortSignal) => Promise<unknown>) {
  const started = Date.now();
  try {
    await check(AbortSignal.timeout(CHECK_TIMEOUT_MS));
    return { status: 'ok', latencyMs: Date.now() - started } as const;
  } catch (error) {
    logger.warn('dependency check failed', { dependency: name, errorName: (error as Error).name });
    // The error's name only: messages can carry endpoints and account ids.
    return { status: 'down', reason: (error as Error).name || 'Error' } as const;
  }
}

/**
 * /health is public: its answer is cached per container for HEALTH_CACHE_SECONDS and concurrent
 * callers share one check, so anonymous traffic costs at most one round of AWS calls per container
 * per interval (the route is also throttled on its own and has a small reserved concurrency).
 */
let cached: { at: number; report: Promise<HealthReport> } | undefined;

export function checkHealth(now = Date.now()): Promise<HealthReport> {
  if (cached && now - cached.at < config.HEALTH_CACHE_SECONDS * 1000) return cached.report;
  const report = checkDependencies();
  cached = { at: now, report };
  return report;
}

async function checkDependencies(): Promise<HealthReport> {
  const [dynamodb, queue, bucket] = await Promise.all([
    probe('dynamodb', (abortSignal) =>
      dynamoClient.send(new DescribeTableCommand({ TableName: config.READINGS_TABLE }), { abortSignal }),
    ),
    probe('sqs', (abortSignal) =>
      sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: config.READINGS_QUEUE_URL, AttributeNames: ['QueueArn'] }),
        { abortSignal },
      ),
    ),
    probe('s3', (abortSignal) =>
      s3.send(new HeadBucketCommand({ Bucket: config.IMAGES_BUCKET }), { abortSignal }),
    ),
  ]);
  const dependencies = { dynamodb, sqs: queue, s3: bucket };
  const allOk = Object.values(dependencies).every((dependency) => dependency.status === 'ok');
  return {
    status: allOk ? 'ok' : 'degraded',
    stage: config.STAGE,
    version: config.SERVICE_VERSION,
    dependencies,
  };
}
