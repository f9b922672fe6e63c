import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildConsole } from '../../scripts/console/build';
import { freePorts, waitFor } from '../../scripts/local/ports';
import { startLocalStack } from '../../scripts/local/stack';
import { writeStackFile } from '../../scripts/local/stack-file';
import { testEnvFile, testLogFile } from './paths';

// One local cloud for the whole run: the same emulators and `serverless offline` as `npm run dev`,
// in memory and on free ports, so tests never collide with a running dev stack.
export default async function globalSetup(): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sensorcloud-test-'));
  mkdirSync(path.dirname(testLogFile), { recursive: true });
  const functionLog = createWriteStream(testLogFile, { flags: 'w' });
  const adminToken = `adm_${randomBytes(24).toString('base64url')}`;
  const started = Date.now();
  // The web console, built as `npm run dev` builds it, served by the gateway (test/browser).
  const consoleBuild = await buildConsole({ outDir: path.join(dataDir, 'console') });
  const stack = await startLocalStack({
    console: { dir: consoleBuild.dir },
    ports: await freePorts(),
    dataDir,
    persist: false,
    adminToken,
    env: { LOCAL_QUEUE_VISIBILITY_TIMEOUT: '5', LOG_LEVEL: 'DEBUG' },
    log: (line) => functionLog.write(`[local] ${line}\n`),
    onFunctionOutput: (line) => functionLog.write(`${line}\n`),
  });
  const queueUrl = (logicalId: string) =>
    stack.resources.queues.find((queue) => queue.logicalId === logicalId)?.url;
  const env = {
    ...stack.functionEnv('health'),
    SENSORCLOUD_API_URL: stack.urls.api,
    SENSORCLOUD_LAMBDA_URL: stack.urls.lambda,
    SENSORCLOUD_ADMIN_TOKEN: adminToken,
    SENSORCLOUD_DATA_DIR: dataDir,
    SENSORCLOUD_CONSOLE_GZIP_BYTES: JSON.stringify(consoleBuild.gzipBytes),
    SENSORCLOUD_STACK_START_MS: String(Date.now() - started),
    SENSORCLOUD_RUN_ID: `${Date.now()}-${process.pid}`,
    SENSORCLOUD_READINGS_QUEUE_URL: queueUrl('ReadingsQueue') ?? '',
    SENSORCLOUD_READINGS_DLQ_URL: queueUrl('ReadingsDeadLetterQueue') ?? '',
  };
  // Warm the authorizer and an admin route: the first invocation of a function compiles its TypeScript
  // in a fresh worker, which on a busy machine can outlast the authorizer's timeout (a 401 offline).
  await waitFor(
    'warm-up of the authorizer',
    async () => {
      const response = await fetch(`${stack.urls.api}/api/devices?limit=1`, {
        headers: { authorization: `Bearer ${adminToken}` },
      });
      if (response.status !== 200) throw new Error(`GET /api/devices answered ${response.status}`);
    },
    { timeoutMs: 180_000, intervalMs: 500 },
  );
  // As `npm run dev` does: `npm run job` / `npm run invoke` with SENSORCLOUD_DATA_DIR find this stack.
  writeStackFile(dataDir, {
    pid: process.pid,
    stage: 'local',
    startedAt: new Date().toISOString(),
    urls: stack.urls,
    masterKeyFile: stack.env.LOCAL_MASTER_KEY_FILE as string,
    alertsFile: stack.env.LOCAL_ALERTS_FILE as string,
  });
  writeFileSync(testEnvFile, JSON.stringify(env));
  Object.assign(process.env, env);
  (globalThis as { __sensorcloudStack?: typeof stack }).__sensorcloudStack = stack;
  (globalThis as { __sensorcloudLog?: typeof functionLog }).__sensorcloudLog = functionLog;
}
