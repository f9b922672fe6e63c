// `npm run dev`: the whole application on this machine, with emulated DynamoDB, SQS and S3.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildConsole, watchConsole } from './console/build';
import { loadLocalEnvFile } from './local/env-file';
import { projectRoot } from './local/service-config';
import { type LocalStack, startLocalStack } from './local/stack';

const envFile = loadLocalEnvFile(projectRoot);

// Where local data persists (DynamoDB files, S3 objects, saved queue messages, keys).
const dataDir = path.resolve(process.env.SENSORCLOUD_DATA_DIR ?? path.join(projectRoot, '.local'));

function port(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value <= 0 || value > 65_535)
    throw new Error(`${name} must be a port number`);
  return value;
}

function adminToken(): string {
  if (process.env.ADMIN_TOKEN) return process.env.ADMIN_TOKEN;
  const file = path.join(dataDir, 'admin-token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const token = `adm_${randomBytes(24).toString('base64url')}`;
  writeFileSync(file, token, { mode: 0o600 });
  return token;
}

// The console is built at every start (esbuild: well under a second); `--console-watch` rebuilds on
// each change under console/ and reloads open pages.
async function startConsoleBuild(outDir: string) {
  if (!process.argv.includes('--console-watch')) {
    const build = await buildConsole({ outDir });
    const kb = (Object.values(build.gzipBytes).reduce((a, b) => a + b, 0) / 1024).toFixed(1);
    console.log(`[local] console built (${kb} KB gzipped)`);
    return { files: { dir: outDir }, stop: async () => undefined };
  }
  const listeners = new Set<() => void>();
  const watcher = await watchConsole(
    outDir,
    () => {
      console.log('[local] console rebuilt; reloading open pages');
      for (const listener of listeners) listener();
    },
    (message) => console.error(`[local] console build failed:\n${message}`),
  );
  const liveReload = {
    subscribe(listener: () => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return { files: { dir: outDir, liveReload }, stop: () => watcher.stop() };
}

async function main(): Promise<void> {
  const started = Date.now();
  if (envFile) console.log(`[local] overrides from ${envFile}`);
  if (process.argv.includes('--fresh')) rmSync(dataDir, { recursive: true, force: true });
  const token = adminToken();
  const consoleFiles = await startConsoleBuild(path.join(dataDir, 'console'));
  const stack: LocalStack = await startLocalStack({
    ports: {
      api: port('API_PORT', 3000),
      dynamodb: port('DYNAMODB_PORT', 8000),
      sqs: port('SQS_PORT', 9324),
      s3: port('S3_PORT', 4569),
      lambda: port('LAMBDA_PORT', 3002),
    },
    dataDir,
    persist: true,
    adminToken: token,
    env: process.env.LOG_LEVEL ? { LOG_LEVEL: process.env.LOG_LEVEL } : {},
    log: (line) => console.log(`[local] ${line}`),
    onFunctionOutput: (line) => console.log(line),
    console: consoleFiles.files,
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const { urls } = stack;
  console.log(
    `sensorcloud ready in ${seconds}s: API ${urls.api} (web console at /) | DynamoDB ${urls.dynamodb} | SQS ${urls.sqs} | S3 ${urls.s3} | Lambda ${urls.lambda} | admin token ${token}`,
  );

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      console.error('[local] second signal: stopping without draining');
      process.exit(1);
    }
    stopping = true;
    console.log(`[local] ${signal}: no longer accepting requests; draining the queue into DynamoDB…`);
    await consoleFiles.stop();
    const report = await stack.stop({ drainTimeoutMs: 20_000 });
    console.log(
      `[local] stopped (${report.drained ? 'queue drained' : 'drain timed out'}; ${report.savedMessages} message(s) kept for the next start)`,
    );
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((error: Error) => {
  console.error(`[local] could not start: ${error.message}`);
  process.exit(1);
});
