import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { localCredentials, localRegion } from '../../scripts/local/aws-local';
import { queueCounts } from '../../scripts/local/emulators';
import {
  functionEnvironment,
  printServiceConfig,
  projectRoot,
  type ServiceConfig,
} from '../../scripts/local/service-config';
import type { StackReady } from '../workers/stack';

export interface Device {
  deviceId: string;
  token: string;
}

/** Everything a figure needs: the API, the emulators behind it and the environment of the functions. */
export interface BenchContext {
  quick: boolean;
  outDir: string;
  logsDir: string;
  apiUrl: string;
  adminToken: string;
  /** The functions' environment, pointed at the emulators (for in-process workers). */
  env: Record<string, string>;
  config: ServiceConfig & { custom?: Record<string, unknown> };
  queueUrl: string;
  dynamo: DynamoDBClient;
  sqs: SQSClient;
  /** Whether the bench started its own stack (and so may purge its queue freely). */
  ownStack: boolean;
  log(line: string): void;
  registerDevice(name: string): Promise<Device>;
  /** Waits until the readings queue is empty and nothing is in flight (false on timeout). */
  drain(timeoutMs: number): Promise<boolean>;
  /** Drops whatever is queued (between load runs, so one run's backlog does not slow the next). */
  purge(): Promise<void>;
  stop(): Promise<void>;
}

export interface StackChoice {
  quick: boolean;
  outDir: string;
  logsDir: string;
  /** Use an already running stack (e.g. `npm run dev`) instead of starting one. */
  url?: string;
  log(line: string): void;
}

async function registerWith(apiUrl: string, adminToken: string, name: string): Promise<Device> {
  const deviceId = `bench_${randomBytes(6).toString('hex')}`;
  const response = await fetch(`${apiUrl}/api/devices`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ deviceId, name }),
  });
  const text = await response.text();
  if (response.status !== 201) throw new Error(`device registration failed: ${response.status} ${text}`);
  const body = JSON.parse(text) as Device;
  return { deviceId: body.deviceId, token: body.token };
}

function clients(env: Record<string, string>) {
  const base = { region: localRegion, credentials: localCredentials };
  return {
    dynamo: new DynamoDBClient({ ...base, endpoint: env.AWS_ENDPOINT_URL_DYNAMODB }),
    sqs: new SQSClient({ ...base, endpoint: env.AWS_ENDPOINT_URL_SQS }),
  };
}

function helpers(sqs: SQSClient, queueUrl: string) {
  return {
    drain: async (timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const { visible, inFlight } = await queueCounts(sqs, queueUrl);
        if (visible === 0 && inFlight === 0) return true;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      return false;
    },
    // Receive-and-delete rather than PurgeQueue, which SQS (and the emulator) allow once a minute.
    purge: async () => {
      const discard = async () => {
        for (;;) {
          const { Messages = [] } = await sqs.send(
            new ReceiveMessageCommand({
              QueueUrl: queueUrl,
              MaxNumberOfMessages: 10,
              WaitTimeSeconds: 0,
              VisibilityTimeout: 60,
            }),
          );
          if (Messages.length === 0) return;
          await sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: Messages.map((message, index) => ({
                Id: String(index),
                ReceiptHandle: message.ReceiptHandle,
              })),
            }),
          );
        }
      };
      await Promise.all(Array.from({ length: 4 }, discard));
    },
  };
}

/** Starts a private stack on free ports (in memory, temp data dir), or attaches to a running one. */
export async function openContext(choice: StackChoice): Promise<BenchContext> {
  return choice.url ? attach(choice, choice.url) : start(choice);
}

async function start(choice: StackChoice): Promise<BenchContext> {
  const child: ChildProcess = fork(path.join(__dirname, '..', 'workers', 'stack.ts'), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const ready = await new Promise<StackReady>((resolve, reject) => {
    child.once('message', (message: { ready?: StackReady; error?: string }) =>
      message.ready ? resolve(message.ready) : reject(new Error(`local stack: ${message.error}`)),
    );
    child.once('exit', (code) => reject(new Error(`the local stack process exited (${code})`)));
    child.send({ logFile: path.join(choice.logsDir, 'functions.log') });
  });
  choice.log(`local stack up in ${ready.startSeconds.toFixed(1)} s at ${ready.apiUrl}`);
  if (!ready.queueUrl) throw new Error('the readings queue was not created');
  const { dynamo, sqs } = clients(ready.env);
  let stopped: Promise<void> | undefined;
  return {
    quick: choice.quick,
    outDir: choice.outDir,
    logsDir: choice.logsDir,
    apiUrl: ready.apiUrl,
    adminToken: ready.adminToken,
    env: ready.env,
    config: ready.config,
    queueUrl: ready.queueUrl,
    dynamo,
    sqs,
    ownStack: true,
    log: choice.log,
    registerDevice: (name) => registerWith(ready.apiUrl, ready.adminToken, name),
    ...helpers(sqs, ready.queueUrl),
    stop: () => {
      stopped ??= (async () => {
        dynamo.destroy();
        sqs.destroy();
        if (child.exitCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        if (child.connected) child.send({ stop: true });
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await exited;
        clearTimeout(timer);
      })();
      return stopped;
    },
  };
}

/** A stack started by `npm run dev`: its ports come from the same variables dev.ts reads. */
async function attach(choice: StackChoice, url: string): Promise<BenchContext> {
  const dataDir = path.join(projectRoot, '.local');
  const tokenFile = path.join(dataDir, 'admin-token');
  const adminToken =
    process.env.ADMIN_TOKEN ?? (existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : '');
  if (!adminToken) throw new Error('--url needs the admin token: set ADMIN_TOKEN or run `npm run dev` once');
  const endpoint = (variable: string, fallback: number) =>
    `http://127.0.0.1:${process.env[variable] ?? fallback}`;
  const endpoints = {
    AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
    AWS_REGION: localRegion,
    AWS_DEFAULT_REGION: localRegion,
    AWS_ENDPOINT_URL_DYNAMODB: endpoint('DYNAMODB_PORT', 8000),
    AWS_ENDPOINT_URL_SQS: endpoint('SQS_PORT', 9324),
    AWS_ENDPOINT_URL_S3: endpoint('S3_PORT', 4569),
    LOCAL_MASTER_KEY_FILE: path.join(dataDir, 'master.key'),
    ADMIN_TOKEN: adminToken,
  };
  const config = await printServiceConfig('local', { ...process.env, ...endpoints });
  const env: Record<string, string> = { ...endpoints, ...functionEnvironment(config, 'consume-readings') };
  const queueUrl = env.READINGS_QUEUE_URL;
  if (!queueUrl) throw new Error('READINGS_QUEUE_URL is not set for stage local');
  const { dynamo, sqs } = clients(env);
  const apiUrl = url.replace(/\/$/, '');
  return {
    quick: choice.quick,
    outDir: choice.outDir,
    logsDir: choice.logsDir,
    apiUrl,
    adminToken,
    env,
    config,
    queueUrl,
    dynamo,
    sqs,
    ownStack: false,
    log: choice.log,
    registerDevice: (name) => registerWith(apiUrl, adminToken, name),
    ...helpers(sqs, queueUrl),
    // Never purge a queue the bench does not own: it may hold someone's readings.
    purge: async () => undefined,
    stop: async () => {
      dynamo.destroy();
      sqs.destroy();
    },
  };
}
