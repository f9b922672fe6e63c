import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { freePort } from '../../scripts/local/ports';
import { projectRoot } from '../../scripts/local/service-config';
import type { RunningStack } from '../../scripts/local/stack-file';
import { eventually, peekAll } from '../support/sqs';

// `npm run dev` as a user runs it: through npm, in a process group of its own (as a terminal's
// foreground job), so a test can send a signal to the whole group the way Ctrl-C does.
interface Dev {
  child: ChildProcess;
  output: () => string;
  /** npm's exit: its code, or the signal it re-raised on itself (a shell shows 130 after Ctrl-C). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startDev(env: Record<string, string>, args: string[] = []): Dev {
  let output = '';
  const child = spawn('npm', ['run', 'dev', ...(args.length > 0 ? ['--', ...args] : [])], {
    cwd: projectRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => output, exited };
}

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

async function call(url: string, method: string, token: string, body?: unknown) {
  const response = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The pid of the dev process itself (npm runs it through a shell), from the stack file it writes. */
const devPid = (dataDir: string) =>
  (JSON.parse(readFileSync(path.join(dataDir, 'stack.json'), 'utf8')) as RunningStack).pid;

const run = promisify(execFile);

/** `npm run <script> -- args` as a user would run it beside the stack, without any port settings. */
async function npmRun(script: string, args: string[], env: Record<string, string>) {
  const { LAMBDA_URL: _url, LAMBDA_PORT: _port, ...inherited } = process.env;
  try {
    const { stdout, stderr } = await run('npm', ['run', '-s', script, '--', ...args], {
      cwd: projectRoot,
      env: { ...inherited, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** The JSON object that `serverless invoke local` prints (after any log lines). */
function invokeResult(stdout: string): { statusCode: number; body: string } {
  const start = stdout.lastIndexOf('\n{\n');
  return JSON.parse(stdout.slice(start === -1 ? stdout.indexOf('{') : start + 1));
}

describe('npm run dev: start, graceful stop on every kind of signal, restart with data kept', () => {
  const running: Dev[] = [];
  // A failed assertion must not leave a stack running.
  afterAll(async () => {
    for (const dev of running) {
      if (dev.child.exitCode === null && dev.child.signalCode === null && dev.child.pid !== undefined) {
        process.kill(-dev.child.pid, 'SIGTERM');
        await dev.exited;
      }
    }
  });

  let ports: Record<string, number>;
  let env: Record<string, string>;
  let dataDir: string;
  let api: string;
  let deviceToken: string;
  let current: Dev;
  /** Readings accepted so far (each was answered 202 just before a stop). */
  let accepted = 0;

  const waitReady = async (dev: Dev) => {
    await eventually(
      async () => {
        if (dev.child.exitCode !== null) throw new Error(`npm run dev exited:\n${dev.output()}`);
        expect(dev.output()).toMatch(/sensorcloud ready in [\d.]+s: API http:\/\/localhost:\d+/);
      },
      { timeoutMs: 120_000 },
    );
  };

  /** 100 readings answered 202, then at once the signal: they are still on their way to DynamoDB. */
  const acceptThenSignal = async (
    signal: () => void,
    npmExit: { code: number | null; signal: NodeJS.Signals | null },
  ) => {
    const pid = devPid(dataDir);
    const response = await call(
      `${api}/api/iot`,
      'PUT',
      deviceToken,
      Array.from({ length: 100 }, (_, i) => ({ data: { relative_time: accepted + i } })),
    );
    expect(response.status).toBe(202);
    accepted += 100;
    signal();
    const exit = await current.exited;
    if (exit.code !== npmExit.code || exit.signal !== npmExit.signal)
      throw new Error(`npm run dev ended ${JSON.stringify(exit)}:\n${current.output()}`);
    await eventually(async () => expect(alive(pid)).toBe(false), { timeoutMs: 60_000 });
    const output = current.output();
    expect(output).toMatch(/no longer accepting requests/);
    expect(output).not.toMatch(/second signal/);
    // Stored during the drain (the emulators outlived the signal), not merely saved for the next start.
    expect(output).toMatch(/\[local\] stopped \(queue drained; 0 message\(s\) kept for the next start\)/);
    for (const port of Object.values(ports)) expect(await listening(port)).toBe(false);
    // Nothing of the stack is left: its stack file is gone with it.
    expect(existsSync(path.join(dataDir, 'stack.json'))).toBe(false);
  };

  const restartAndCount = async () => {
    current = startDev(env);
    running.push(current);
    await waitReady(current);
    const rows = await call(`${api}/api/iot?limit=5000`, 'POST', deviceToken);
    expect(rows.status).toBe(200);
    return (rows.body.data as unknown[]).length;
  };

  beforeAll(async () => {
    ports = {
      API_PORT: await freePort(),
      DYNAMODB_PORT: await freePort(),
      SQS_PORT: await freePort(),
      S3_PORT: await freePort(),
      LAMBDA_PORT: await freePort(),
    };
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'sensorcloud-dev-'));
    env = {
      ...Object.fromEntries(Object.entries(ports).map(([name, port]) => [name, String(port)])),
      SENSORCLOUD_DATA_DIR: dataDir,
      ADMIN_TOKEN: `adm_${randomBytes(16).toString('hex')}`,
    };
    api = `http://localhost:${ports.API_PORT}`;
  });

  it('starts with one ready line that shows only a prefix of the admin token', async () => {
    current = startDev({ ...env, ADMIN_TOKEN: '' }, ['--fresh']);
    running.push(current);
    await waitReady(current);
    const tokenFile = path.join(dataDir, 'admin-token');
    const token = readFileSync(tokenFile, 'utf8').trim();
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const output = current.output();
    expect(output).not.toContain(token);
    expect(output).toContain(`admin token ${token.slice(0, 8)}… (full token: ${tokenFile})`);
    // npm's two header lines, then the ready line: the functions' output goes to a file.
    const lines = output.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('> '));
    expect(lines).toEqual([expect.stringMatching(/^sensorcloud ready in /)]);
    env.ADMIN_TOKEN = token;
    const device = await call(`${api}/api/devices`, 'POST', token, {});
    expect(device.status).toBe(201);
    deviceToken = device.body.token as string;
  }, 180_000);

  // npm re-raises on itself the signal its script's shell ended with, as after any Ctrl-C.
  it.each([
    ['Ctrl-C (SIGINT to the whole process group)', 'SIGINT'],
    ['SIGTERM to the whole process group', 'SIGTERM'],
  ] as const)(
    '%s drains accepted readings; they are there after a restart',
    async (_name, signal) => {
      await acceptThenSignal(() => process.kill(-(current.child.pid as number), signal), {
        code: null,
        signal,
      });
      expect(await restartAndCount()).toBe(accepted);
    },
    300_000,
  );

  it('SIGTERM to the dev process alone drains accepted readings too', async () => {
    await acceptThenSignal(() => process.kill(devPid(dataDir), 'SIGTERM'), { code: 0, signal: null });
    expect(await restartAndCount()).toBe(accepted);
  }, 300_000);

  it('npm run job and npm run invoke talk to the running stack on its own (non-default) ports', async () => {
    const job = await npmRun('job', ['rollup-stats'], { SENSORCLOUD_DATA_DIR: dataDir });
    expect(job.stderr).toMatch(/rollup-stats finished in \d+ ms/);
    expect(job.code).toBe(0);
    const rollup = JSON.parse(job.stdout) as { global: { devices: number } };
    expect(rollup.global.devices).toBe(1);

    const invoke = await npmRun('invoke', ['health', 'events/health.json'], {
      SENSORCLOUD_DATA_DIR: dataDir,
      ADMIN_TOKEN: env.ADMIN_TOKEN as string,
    });
    expect(invoke.code).toBe(0);
    const health = invokeResult(invoke.stdout);
    expect(health.statusCode).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({
      status: 'ok',
      dependencies: { dynamodb: { status: 'ok' }, sqs: { status: 'ok' }, s3: { status: 'ok' } },
    });
  }, 120_000);

  it('keeps dead letters across a restart and leaves nothing running', async () => {
    const sqs = new SQSClient({ endpoint: `http://127.0.0.1:${ports.SQS_PORT}` });
    const dlqUrl = `http://127.0.0.1:${ports.SQS_PORT}/000000000000/sensorcloud-local-readings-dlq`;
    try {
      await sqs.send(new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: '{"dead":"letter"}' }));
      process.kill(devPid(dataDir), 'SIGTERM');
      expect(await current.exited).toEqual({ code: 0, signal: null });
      expect(current.output()).toMatch(/stopped \(queue drained; 1 message\(s\) kept for the next start\)/);

      current = startDev(env);
      running.push(current);
      await waitReady(current);
      expect(current.output()).toMatch(/restored 1 message\(s\) to sensorcloud-local-readings-dlq/);
      const deadLetters = await peekAll(dlqUrl, sqs);
      expect(deadLetters.map((message) => message.Body)).toEqual(['{"dead":"letter"}']);
    } finally {
      sqs.destroy();
      process.kill(-(current.child.pid as number), 'SIGINT');
      await current.exited;
    }
    for (const port of Object.values(ports)) expect(await listening(port)).toBe(false);
  }, 300_000);

  it('npm run job and npm run invoke say so, and call nothing, when no stack runs', async () => {
    const job = await npmRun('job', ['rollup-stats'], { SENSORCLOUD_DATA_DIR: dataDir });
    expect(job.code).toBe(1);
    expect(job.stderr).toContain(`No local stack is running for ${dataDir}`);
    expect(job.stderr).toContain('npm run dev');
    const invoke = await npmRun('invoke', ['health', 'events/health.json'], {
      SENSORCLOUD_DATA_DIR: dataDir,
    });
    expect(invoke.code).toBe(1);
    expect(invoke.stderr).toContain(`No local stack is running for ${dataDir}`);
  }, 120_000);

  it('takes its emulators with it when it is killed outright (kill -9), and the scripts notice', async () => {
    current = startDev(env);
    running.push(current);
    await waitReady(current);
    const pid = devPid(dataDir);
    process.kill(pid, 'SIGKILL');
    // The guard around each child sees its pipe from the dead process close and kills the child.
    await eventually(
      async () => {
        for (const port of Object.values(ports)) expect(await listening(port)).toBe(false);
      },
      { timeoutMs: 30_000 },
    );
    await current.exited;
    // Its stack file is left behind, naming a process that is gone: the scripts say so.
    const job = await npmRun('job', ['rollup-stats'], { SENSORCLOUD_DATA_DIR: dataDir });
    expect(job.code).toBe(1);
    expect(job.stderr).toContain(`(pid ${pid}) is no longer running`);
  }, 180_000);

  it('stops with a clear error, not a hang, when a port is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
    const taken = (blocker.address() as net.AddressInfo).port;
    const dev = startDev({
      API_PORT: String(taken),
      SENSORCLOUD_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'sc-')),
    });
    running.push(dev);
    try {
      expect((await dev.exited).code).toBe(1);
      expect(dev.output()).toContain(`Port ${taken} (API (API_PORT)) is already in use`);
    } finally {
      blocker.close();
    }
  }, 60_000);
});
