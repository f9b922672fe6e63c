import type { ChildProcess } from 'node:child_process';

// Children of the local stack (DynamoDB Local, serverless offline) must not outlive it, even when it
// exits abruptly (uncaught error, process.exit): on exit, whatever is still running is killed.
const running = new Set<ChildProcess>();

process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export function ownChild(child: ChildProcess): ChildProcess {
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}
