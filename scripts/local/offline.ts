import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import { killOwned, spawnOwned, stopOwned } from './children';
import { waitFor } from './ports';
import { projectRoot, quietSlsEnv, slsBin } from './service-config';

export interface OfflineProcess {
  stop(): Promise<void>;
}

const canConnect = (port: number) =>
  new Promise<void>((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' }, () => {
      socket.end();
      resolve();
    });
    socket.once('error', reject);
  });

/** `serverless offline start`: the HTTP API, the Lambda Invoke API and the schedules. */
export async function startOffline(options: {
  stage: string;
  httpPort: number;
  lambdaPort: number;
  env: NodeJS.ProcessEnv;
  onOutput: (line: string) => void;
}): Promise<OfflineProcess> {
  const child: ChildProcess = spawnOwned(
    process.execPath,
    [slsBin, 'offline', 'start', '--stage', options.stage],
    {
      cwd: projectRoot,
      env: {
        ...options.env,
        ...quietSlsEnv,
        // AWS evaluates schedule expressions in UTC; serverless-offline uses the process's zone.
        TZ: 'UTC',
        OFFLINE_HTTP_PORT: String(options.httpPort),
        OFFLINE_LAMBDA_PORT: String(options.lambdaPort),
      },
    },
  );
  let exited = false;
  let recent = '';
  const forward = (chunk: Buffer) => {
    const text = chunk.toString();
    recent = (recent + text).slice(-4_000);
    for (const line of text.split('\n')) if (line.trim()) options.onOutput(line);
  };
  child.stdout?.on('data', forward);
  child.stderr?.on('data', forward);
  child.once('exit', () => {
    exited = true;
  });

  try {
    await waitFor(
      'serverless offline',
      async () => {
        if (exited) throw new Error(`exited early:\n${recent}`);
        await canConnect(options.httpPort);
        await canConnect(options.lambdaPort);
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
  } catch (error) {
    killOwned(child);
    throw error;
  }

  return { stop: () => stopOwned(child) };
}
