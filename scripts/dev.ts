// `npm run dev`: the whole application on this machine, with emulated DynamoDB, SQS and S3.
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { buildConsole, watchConsole } from './console/build';
import { loadLocalEnvFile } from './local/env-file';
import { projectRoot } from './local/service-config';
import { type LocalStack, startLocalStack } from './local/stack';
import { localDataDir, removeStackFile, writeStackFile } from './local/stack-file';

const envFile = loadLocalEnvFile(projectRoot);

// Where local data persists (DynamoDB files, S3 objects, saved queue messages, keys).
const dataDir = localDataDir();
const verbose = process.argv.includes('--verbose');

function port(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value <= 0 || value > 65_535)
    throw new Error(`${name} must be a port number`);
  return value;
}

/** A path as the user would type it: relative inside the project, absolute elsewhere. */
const shown = (file: string) => {
  const relative = path.relative(projectRoot, file);
  return relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
};

/** The admin token and where the user can read it (it is never printed in full). */
function adminToken(): { token: string; source: string } {
  if (process.env.ADMIN_TOKEN) return { token: process.env.ADMIN_TOKEN, source: 'ADMIN_TOKEN' };
  const file = path.join(dataDir, 'admin-token');
  if (existsSync(file)) {
    chmodSync(file, 0o600);
    return { token: readFileSync(file, 'utf8').trim(), source: shown(file) };
  }
  const token = `adm_${randomBytes(24).toString('base64url')}`;
  writeFileSync(file, token, { mode: 0o600 });
  return { token, source: shown(file) };
}

// A terminal's Ctrl-C signals the whole foreground process group, and npm forwards the signal to its
// script as well: one Ctrl-C can arrive here twice. Signals this close to the first are that one.
const DUPLICATE_SIGNAL_MS = 1_500;

// The console is built at every start (esbuild: well under a second); `--console-watch` rebuilds on
// each change under console/ and reloads open pages.
async function startConsoleBuild(outDir: string) {
  if (!process.argv.includes('--console-watch')) {
    // Quietly: start-up prints one ready line.
    await buildConsole({ outDir });
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
  mkdirSync(dataDir, { recursive: true });
  const { token, source } = adminToken();

  // Signals are handled from the start: one during start-up stops the stack once it is up.
  let stack: LocalStack | undefined;
  let stopRequested: string | undefined;
  let firstSignalAt = 0;
  const hurry = new AbortController();
  let stopConsole: () => Promise<unknown> = async () => undefined;
  const shutdown = async (signal: string, running: LocalStack) => {
    console.log(`[local] ${signal}: no longer accepting requests; draining the queue into DynamoDB…`);
    await stopConsole();
    const report = await running.stop({ drainTimeoutMs: 20_000, hurry: hurry.signal });
    removeStackFile(dataDir);
    console.log(
      `[local] stopped (${report.drained ? 'queue drained' : 'drain cut short'}; ${report.savedMessages} message(s) kept for the next start)`,
    );
    process.exit(0);
  };
  const stop = (signal: string, running: LocalStack) =>
    shutdown(signal, running).catch((error: Error) => {
      console.error(`[local] could not stop cleanly: ${error.message}`);
      process.exit(1);
    });
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopRequested === undefined) {
      stopRequested = signal;
      firstSignalAt = Date.now();
      if (stack) void stop(signal, stack);
      else console.log(`[local] ${signal}: stopping as soon as the start-up has finished…`);
      return;
    }
    if (Date.now() - firstSignalAt < DUPLICATE_SIGNAL_MS || hurry.signal.aborted) return;
    console.log('[local] second signal: not waiting for the drain; saving what is queued and stopping');
    hurry.abort();
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
  // After SIGHUP (terminal closed) writing to it fails: that must not end the drain.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  process.once('exit', () => removeStackFile(dataDir));

  const consoleFiles = await startConsoleBuild(path.join(dataDir, 'console'));
  stopConsole = consoleFiles.stop;
  const logFile = path.join(dataDir, 'functions.log');
  const functionLog = verbose ? undefined : createWriteStream(logFile, { flags: 'a' });
  stack = await startLocalStack({
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
    // The functions' output (hundreds of lines at start alone) goes to a file unless --verbose.
    onFunctionOutput: (line) => (functionLog ? functionLog.write(`${line}\n`) : console.log(line)),
    console: consoleFiles.files,
  });
  if (stopRequested) {
    await stop(stopRequested, stack);
    return;
  }
  const { urls, env } = stack;
  writeStackFile(dataDir, {
    pid: process.pid,
    stage: 'local',
    startedAt: new Date().toISOString(),
    urls,
    masterKeyFile: env.LOCAL_MASTER_KEY_FILE as string,
    alertsFile: env.LOCAL_ALERTS_FILE as string,
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(
    `sensorcloud ready in ${seconds}s: API ${urls.api} (web console at /) | admin token ${token.slice(0, 8)}… (full token: ${source}) | ` +
      `${functionLog ? `function logs: ${shown(logFile)} | ` : ''}ports of every service: ${shown(path.join(dataDir, 'stack.json'))} | Ctrl-C stops (drains first)`,
  );
}

main().catch((error: Error) => {
  console.error(`[local] could not start: ${error.message}`);
  process.exit(1);
});
