import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from './service-config';

// `npm run dev` writes where its services listen to `<data dir>/stack.json` once it is ready and
// removes the file when it stops; `npm run job` and `npm run invoke` read it, so they talk to the
// stack that is running (whatever its ports) and never to whatever happens to listen on a default.

export interface RunningStack {
  pid: number;
  stage: string;
  startedAt: string;
  urls: { api: string; dynamodb: string; sqs: string; s3: string; lambda: string };
  masterKeyFile: string;
  alertsFile: string;
}

/** The data directory `npm run dev` uses (and so the one the other scripts must look in). */
export function localDataDir(): string {
  return path.resolve(process.env.SENSORCLOUD_DATA_DIR ?? path.join(projectRoot, '.local'));
}

export const stackFile = (dataDir: string) => path.join(dataDir, 'stack.json');

export function writeStackFile(dataDir: string, stack: RunningStack): void {
  writeFileSync(stackFile(dataDir), `${JSON.stringify(stack, null, 2)}\n`, { mode: 0o600 });
}

/** Removes the file only if it describes this process's stack (a second stack may have replaced it). */
export function removeStackFile(dataDir: string, pid = process.pid): void {
  try {
    const stack = JSON.parse(readFileSync(stackFile(dataDir), 'utf8')) as RunningStack;
    if (stack.pid === pid) rmSync(stackFile(dataDir), { force: true });
  } catch {
    // No file, or not ours to remove.
  }
}

export class NoRunningStackError extends Error {}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** The running stack of `dataDir`, or a NoRunningStackError that says what to do. */
export function runningStack(dataDir = localDataDir()): RunningStack {
  const file = stackFile(dataDir);
  let stack: RunningStack;
  try {
    stack = JSON.parse(readFileSync(file, 'utf8')) as RunningStack;
  } catch {
    throw new NoRunningStackError(
      `No local stack is running for ${dataDir} (no ${path.basename(file)} there). Start it with \`npm run dev\` (with the same SENSORCLOUD_DATA_DIR) and wait for "sensorcloud ready".`,
    );
  }
  if (!Number.isInteger(stack.pid) || !alive(stack.pid)) {
    throw new NoRunningStackError(
      `The local stack that wrote ${file} (pid ${stack.pid}) is no longer running. Start it with \`npm run dev\`.`,
    );
  }
  return stack;
}
