import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePorts } from '../../scripts/local/ports';
import type { ServiceConfig } from '../../scripts/local/service-config';
import { startLocalStack } from '../../scripts/local/stack';

// The bench's private local stack, in its own process: the SQS and S3 emulators and the event-source
// pollers live in the process that starts the stack, and must not share an event loop with the load
// generator measuring them.

export interface StackReady {
  apiUrl: string;
  adminToken: string;
  env: Record<string, string>;
  config: ServiceConfig;
  queueUrl: string;
  startSeconds: number;
}

const send = (message: unknown) => process.send?.(message);

process.once('message', async (input: { logFile: string }) => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sensorcloud-bench-'));
  const functionLog = createWriteStream(input.logFile, { flags: 'a' });
  const adminToken = `adm_${randomBytes(24).toString('base64url')}`;
  const started = performance.now();
  try {
    const stack = await startLocalStack({
      ports: await freePorts(),
      dataDir,
      persist: false,
      adminToken,
      env: {},
      log: (line) => functionLog.write(`[local] ${line}\n`),
      onFunctionOutput: (line) => functionLog.write(`${line}\n`),
    });
    const queueUrl = stack.resources.queues.find((queue) => queue.logicalId === 'ReadingsQueue')?.url ?? '';
    const ready: StackReady = {
      apiUrl: stack.urls.api,
      adminToken,
      env: stack.functionEnv('consume-readings'),
      config: stack.config,
      queueUrl,
      startSeconds: (performance.now() - started) / 1000,
    };
    send({ ready });
    let stopping = false;
    const stop = async () => {
      if (stopping) return;
      stopping = true;
      await stack.stop({ drainTimeoutMs: 2_000 });
      functionLog.end();
      rmSync(dataDir, { recursive: true, force: true });
      if (process.connected) send({ stopped: true });
      setTimeout(() => process.exit(0), 50);
    };
    process.once('message', () => void stop());
    // The bench died or was interrupted: take the stack down with it.
    process.once('disconnect', () => void stop());
  } catch (error) {
    send({ error: (error as Error).message });
    rmSync(dataDir, { recursive: true, force: true });
    setTimeout(() => process.exit(1), 50);
  }
});
