import { fork } from 'node:child_process';
import { openSync } from 'node:fs';
import path from 'node:path';

// In-process measurements (handler time, consumer, seeding, images) run in a child process: it gets
// the functions' environment before any src/ module reads its config, its logs go to a file instead
// of the report's console, and its memory is its own.

type Reply<T> = { ok: true; result: T } | { ok: false; error: string } | { progress: string };

export async function runWorker<I, O>(
  name: string,
  input: I,
  options: { env: Record<string, string>; logFile: string; log?: (line: string) => void },
): Promise<O> {
  const script = path.join(__dirname, '..', 'workers', `${name}.ts`);
  const out = openSync(options.logFile, 'a');
  const child = fork(script, [], {
    env: { ...process.env, ...options.env },
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', out, out, 'ipc'],
  });
  return new Promise<O>((resolve, reject) => {
    let settled = false;
    child.on('message', (message: Reply<O>) => {
      if ('progress' in message) {
        options.log?.(message.progress);
        return;
      }
      settled = true;
      if (message.ok) resolve(message.result);
      else reject(new Error(`${name}: ${message.error}`));
      child.disconnect();
    });
    child.on('exit', (code) => {
      if (!settled)
        reject(new Error(`${name} exited with ${code} before answering (see ${options.logFile})`));
    });
    child.send(input as object);
  });
}

/** The worker side: answers the parent's one input with one result. */
export function serveWorker<I, O>(work: (input: I, progress: (line: string) => void) => Promise<O>): void {
  const send = (message: Reply<O>) => process.send?.(message);
  process.once('message', (input: I) => {
    work(input, (line) => send({ progress: line }))
      .then((result) => send({ ok: true, result }))
      .catch((error: Error) => send({ ok: false, error: error.stack ?? error.message }))
      .finally(() => setTimeout(() => process.exit(0), 50));
  });
}
