import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { localAccountId, localCredentials, localRegion } from './aws-local';
import type { ConsoleFiles } from './console-files';
import { startDynamoDbLocal } from './dynamodb-local';
import { queueCounts, restoreQueue, snapshotQueue, startS3Emulator, startSqsEmulator } from './emulators';
import { type Gateway, startGateway } from './gateway';
import { lambdaApiInvoker } from './invoker';
import { startOffline } from './offline';
import { assertPortFree, freePort } from './ports';
import { createResources, type LocalResources, onFailureQueues, queueFromReference } from './resources';
import { assertProjectNode } from './runtime';
import { type OnFailure, onFailureRecord, S3Notifications, subscriptionsFrom } from './s3-notifications';
import {
  functionEnvironment,
  printServiceConfig,
  type ServiceConfig,
  type SqsEventConfig,
} from './service-config';
import { SqsEventSource } from './sqs-event-source';

export interface Ports {
  api: number;
  dynamodb: number;
  sqs: number;
  s3: number;
  lambda: number;
}

export interface LocalStackOptions {
  stage?: string;
  ports: Ports;
  /** Holds S3 objects, the local master key, queue snapshots and (when `persist`) DynamoDB's files. */
  dataDir: string;
  /** Keep DynamoDB and queued messages across restarts (dev); tests run in memory. */
  persist: boolean;
  adminToken: string;
  /** Extra environment for serverless (e.g. LOG_LEVEL, LOCAL_QUEUE_VISIBILITY_TIMEOUT). */
  env?: Record<string, string>;
  log: (line: string) => void;
  /** Where serverless-offline's output (the functions' logs) goes. */
  onFunctionOutput: (line: string) => void;
  /** The built web console, served by the gateway at the API's origin. */
  console?: Omit<ConsoleFiles, 'connectOrigins'>;
}

export interface StopOptions {
  drainTimeoutMs?: number;
  /** Aborting it ends the drain at once (a second Ctrl-C): what is queued is still saved. */
  hurry?: AbortSignal;
}

export interface StopReport {
  drained: boolean;
  savedMessages: number;
}

export interface LocalStack {
  urls: { api: string; dynamodb: string; sqs: string; s3: string; lambda: string };
  /** What a process needs to talk to the emulators as the functions do. */
  env: Record<string, string>;
  config: ServiceConfig;
  resources: LocalResources;
  functionEnv(functionKey: string): Record<string, string>;
  functionName(functionKey: string): string;
  /** Drains (bounded), saves what is still queued when persisting, stops everything. */
  stop(options?: StopOptions): Promise<StopReport>;
}

/** Created once per data directory: the local stand-in for the KMS key that wraps data keys. */
export function ensureMasterKey(dataDir: string): string {
  const file = path.join(dataDir, 'master.key');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
  }
  return file;
}

function sqsEvents(config: ServiceConfig) {
  const sources: Array<{ functionKey: string; event: SqsEventConfig; reservedConcurrency?: number }> = [];
  for (const [functionKey, fn] of Object.entries(config.functions)) {
    for (const { sqs } of fn.events) {
      if (!sqs) continue;
      const event = typeof sqs === 'string' ? { arn: sqs } : sqs;
      if (event.enabled === false) continue;
      sources.push({ functionKey, event, reservedConcurrency: fn.reservedConcurrency });
    }
  }
  return sources;
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  assertProjectNode();
  const stage = options.stage ?? 'local';
  const { ports, log } = options;
  const cleanups: Array<() => Promise<unknown>> = [];
  const cleanup = async () => {
    for (const stop of cleanups.reverse()) await stop().catch(() => undefined);
  };

  try {
    const offlineHttpPort = await freePort();
    await Promise.all([
      assertPortFree(ports.api, 'API (API_PORT)'),
      assertPortFree(ports.dynamodb, 'DynamoDB Local (DYNAMODB_PORT)'),
      assertPortFree(ports.sqs, 'SQS emulator (SQS_PORT)'),
      assertPortFree(ports.s3, 'S3 emulator (S3_PORT)'),
      assertPortFree(ports.lambda, 'Lambda invoke API (LAMBDA_PORT)'),
    ]);

    const urls = {
      api: `http://localhost:${ports.api}`,
      dynamodb: `http://127.0.0.1:${ports.dynamodb}`,
      sqs: `http://127.0.0.1:${ports.sqs}`,
      s3: `http://127.0.0.1:${ports.s3}`,
      lambda: `http://127.0.0.1:${ports.lambda}`,
    };
    const masterKeyFile = ensureMasterKey(options.dataDir);
    const env: Record<string, string> = {
      AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
      AWS_REGION: localRegion,
      AWS_DEFAULT_REGION: localRegion,
      AWS_ENDPOINT_URL_DYNAMODB: urls.dynamodb,
      AWS_ENDPOINT_URL_SQS: urls.sqs,
      AWS_ENDPOINT_URL_S3: urls.s3,
      LOCAL_MASTER_KEY_FILE: masterKeyFile,
      // Offline there is no SNS: alerts are appended here as JSON lines.
      LOCAL_ALERTS_FILE: path.join(options.dataDir, 'alerts.jsonl'),
      ADMIN_TOKEN: options.adminToken,
      ...options.env,
    };
    const processEnv = { ...process.env, ...env };

    // Everything that does not depend on anything else starts at once: this is most of the start time.
    const offlinePromise = startOffline({
      stage,
      httpPort: offlineHttpPort,
      lambdaPort: ports.lambda,
      env: processEnv,
      onOutput: options.onFunctionOutput,
    });
    offlinePromise.then((offline) => cleanups.push(() => offline.stop())).catch(() => undefined);
    const [config, , , s3Emulator] = await Promise.all([
      printServiceConfig(stage, processEnv),
      startDynamoDbLocal(
        ports.dynamodb,
        options.persist ? path.join(options.dataDir, 'dynamodb') : undefined,
      ).then((started) => {
        cleanups.push(() => started.stop());
        return started;
      }),
      startSqsEmulator(ports.sqs).then((started) => {
        cleanups.push(() => started.stop());
        return started;
      }),
      startS3Emulator(ports.s3, path.join(options.dataDir, 's3')).then((started) => {
        cleanups.push(() => started.stop());
        return started;
      }),
    ]);

    const clientConfig = { region: localRegion, credentials: localCredentials };
    const dynamo = new DynamoDBClient({ ...clientConfig, endpoint: urls.dynamodb });
    const sqs = new SQSClient({ ...clientConfig, endpoint: urls.sqs });
    const s3 = new S3Client({
      ...clientConfig,
      endpoint: urls.s3,
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    cleanups.push(async () => {
      dynamo.destroy();
      sqs.destroy();
      s3.destroy();
    });

    const resources = await createResources(config, { dynamo, sqs, s3 });
    const snapshotFile = (queueName: string) => path.join(options.dataDir, 'sqs', `${queueName}.json`);
    if (options.persist) {
      for (const queue of resources.queues) {
        const restored = await restoreQueue(sqs, queue.url, snapshotFile(queue.name));
        if (restored > 0) log(`restored ${restored} message(s) to ${queue.name}`);
      }
    }

    await offlinePromise;
    const functionName = (functionKey: string) =>
      config.functions[functionKey]?.name ?? `${config.service}-${stage}-${functionKey}`;
    const invoke = lambdaApiInvoker(urls.lambda, functionName);
    cleanups.push(async () => invoke.close());

    const eventSources = sqsEvents(config).map(({ functionKey, event, reservedConcurrency }) => {
      const queueName = queueFromReference(config, event.arn);
      const queue = resources.queues.find((candidate) => candidate.name === queueName);
      if (!queue) throw new Error(`queue ${queueName} of ${functionKey} was not created`);
      const source = new SqsEventSource({
        functionKey,
        queueUrl: queue.url,
        queueArn: queue.arn,
        region: localRegion,
        batchSize: event.batchSize ?? 10,
        maximumBatchingWindowSeconds: event.maximumBatchingWindow ?? 0,
        reportBatchItemFailures: event.functionResponseType === 'ReportBatchItemFailures',
        concurrency: Math.max(1, Math.min(reservedConcurrency ?? 2, 2)),
        sqs,
        invoke,
        log,
      });
      source.start();
      return { source, queue };
    });

    // Lambda's on-failure destinations of asynchronous (S3-triggered) functions.
    const failureQueues = onFailureQueues(config);
    const onFailure: OnFailure = async (functionKey, event, error, attempts) => {
      const queue = resources.queues.find((candidate) => candidate.name === failureQueues.get(functionKey));
      if (!queue) return false;
      const functionArn = `arn:aws:lambda:${localRegion}:${localAccountId}:function:${functionName(functionKey)}`;
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: queue.url,
          MessageBody: JSON.stringify(onFailureRecord(functionArn, event, error, attempts)),
        }),
      );
      return true;
    };
    const notifications = new S3Notifications(
      subscriptionsFrom(config.functions, config.provider.s3 ?? {}),
      invoke,
      log,
      localRegion,
      undefined,
      onFailure,
    );
    s3Emulator.onObjectEvent((event) => notifications.handle(event));

    const gateway: Gateway = await startGateway(
      ports.api,
      offlineHttpPort,
      undefined,
      options.console && { ...options.console, connectOrigins: [urls.s3] },
    );

    let stopping: Promise<StopReport> | undefined;
    const stop = async ({ drainTimeoutMs = 20_000, hurry }: StopOptions = {}): Promise<StopReport> => {
      const deadline = Date.now() + drainTimeoutMs;
      // 1. No new requests; the ones in flight finish.
      await gateway.close(Math.min(5_000, drainTimeoutMs));
      // 2. Drain: let the consumers store what is queued, within the deadline.
      let drained = false;
      while (Date.now() < deadline && !hurry?.aborted) {
        // Messages waiting out a failed attempt's visibility timeout are not waited for: they are
        // made visible again and saved below.
        const counts = await Promise.all(eventSources.map(({ queue }) => queueCounts(sqs, queue.url)));
        if (
          counts.every(({ visible }) => visible === 0) &&
          eventSources.every(({ source }) => !source.busy)
        ) {
          drained = true;
          break;
        }
        await sleep(200, undefined, { signal: hurry }).catch(() => undefined);
      }
      notifications.close();
      await Promise.race([notifications.settle(), new Promise((resolve) => setTimeout(resolve, 2_000))]);
      await Promise.all(eventSources.map(({ source }) => source.stop()));
      // 3. What could not be stored (retries pending, dead letters) is saved for the next start.
      let savedMessages = 0;
      if (options.persist) {
        await Promise.all(eventSources.map(({ source }) => source.releaseRetries()));
        for (const queue of resources.queues)
          savedMessages += await snapshotQueue(sqs, queue.url, snapshotFile(queue.name));
      }
      await cleanup();
      return { drained, savedMessages };
    };

    return {
      urls,
      env,
      config,
      resources,
      functionEnv: (functionKey) => ({ ...env, ...functionEnvironment(config, functionKey) }),
      functionName,
      stop: (stopOptions) => {
        stopping ??= stop(stopOptions);
        return stopping;
      },
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
