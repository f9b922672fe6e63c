import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';

// Children of the local stack (DynamoDB Local, serverless offline) run in process groups of their
// own, so a terminal's Ctrl-C (SIGINT to the whole foreground group) reaches only `npm run dev`, which
// then drains the queue through them before stopping them. They must still not outlive the stack:
// - on exit (uncaught error, process.exit) whatever is still running is killed, with its group;
// - if the stack dies without running any code (SIGKILL, OOM killer), a small sh guard around each
//   child sees its stdin pipe from the stack close and kills its group.
const running = new Set<ChildProcess>();

const killGroup = (child: ChildProcess, signal: NodeJS.Signals) => {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
};

process.once('exit', () => {
  for (const child of running) killGroup(child, 'SIGKILL');
});

// $1… is the command. SIGTERM to the guard is passed to the command (a graceful stop); the guard
// exits with the command's status. The watcher holds the pipe from the stack: EOF means it is gone.
const guard = [
  'exec 3<&0 </dev/null',
  '"$@" &',
  'child=$!',
  `trap 'kill -TERM "$child" 2>/dev/null' TERM`,
  `trap '' INT HUP`,
  '( read -r _ <&3; kill -KILL 0 ) >/dev/null 2>&1 &',
  'watcher=$!',
  'status=0',
  'while kill -0 "$child" 2>/dev/null; do wait "$child"; status=$?; done',
  'kill "$watcher" 2>/dev/null',
  'exit "$status"',
].join('\n');

/** Spawns `command` in a process group of its own, tied to this process's life (see above). */
export function spawnOwned(
  command: string,
  args: string[],
  options: Omit<SpawnOptions, 'stdio' | 'detached'>,
): ChildProcess {
  const child = spawn('sh', ['-c', guard, 'sh', command, ...args], {
    ...options,
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => {
    running.delete(child);
    child.stdin?.destroy();
  });
  return child;
}

/** SIGTERM (graceful), then the whole group is killed after `graceMs`; resolves when it has exited. */
export function stopOwned(child: ChildProcess, graceMs = 5_000): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      // Grandchildren (tsx's esbuild service) can keep the pipes open after the child has exited.
      killGroup(child, 'SIGKILL');
      child.stdout?.destroy();
      child.stderr?.destroy();
      resolve();
    };
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once('exit', done);
    child.kill('SIGTERM');
    setTimeout(() => killGroup(child, 'SIGKILL'), graceMs).unref();
  });
}

/** Kills the child's whole group at once (a child that failed to start). */
export function killOwned(child: ChildProcess): void {
  killGroup(child, 'SIGKILL');
}
