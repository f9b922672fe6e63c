import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { freePort } from '../../scripts/local/ports';
import { projectRoot } from '../../scripts/local/service-config';
import { eventually, peekAll } from '../support/sqs';

const tsx = path.join(projectRoot, 'node_modules', '.bin', 'tsx');

interface Dev {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startDev(env: Record<string, string>, args: string[] = []): Dev {
  let output = '';
  const child = spawn(tsx, ['scripts/dev.ts', ...args], {
    cwd: projectRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
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

describe('npm run dev: start, graceful stop, restart with data kept', () => {
  const running: Dev[] = [];
  // A failed assertion must not leave a stack running.
  afterAll(async () => {
    for (const dev of running) {
      if (dev.child.exitCode === null) {
        dev.child.kill('SIGTERM');
        await dev.exited;
      }
    }
  });

  it('drains accepted readings on SIGTERM, keeps them and dead letters across a restart, leaves nothing running', async () => {
    const ports = {
      API_PORT: await freePort(),
      DYNAMODB_PORT: await freePort(),
      SQS_PORT: await freePort(),
      S3_PORT: await freePort(),
      LAMBDA_PORT: await freePort(),
    };
    const env = {
      ...Object.fromEntries(Object.entries(ports).map(([name, port]) => [name, String(port)])),
      SENSORCLOUD_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'sensorcloud-dev-')),
      ADMIN_TOKEN: `adm_${randomBytes(16).toString('hex')}`,
    };
    const api = `http://localhost:${ports.API_PORT}`;

    const first = startDev(env, ['--fresh']);
    running.push(first);
    await eventually(
      async () => expect(first.output()).toMatch(/sensorcloud ready in [\d.]+s: API http:\/\/localhost:\d+/),
      {
        timeoutMs: 120_000,
      },
    );
    const device = await call(`${api}/api/devices`, 'POST', env.ADMIN_TOKEN, {});
    expect(device.status).toBe(201);
    const token = device.body.token as string;
    const accepted = await call(
      `${api}/api/iot`,
      'PUT',
      token,
      Array.from({ length: 50 }, (_, i) => ({ data: { relative_time: i } })),
    );
    expect(accepted.status).toBe(202);
    // A dead letter, which must also survive the restart.
    const sqs = new SQSClient({ endpoint: `http://127.0.0.1:${ports.SQS_PORT}` });
    const dlqUrl = `http://127.0.0.1:${ports.SQS_PORT}/000000000000/sensorcloud-local-readings-dlq`;
    await sqs.send(new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: '{"dead":"letter"}' }));

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.output()).toMatch(/no longer accepting requests/);
    expect(first.output()).toMatch(/stopped \(queue drained; 1 message\(s\) kept for the next start\)/);
    for (const port of Object.values(ports)) expect(await listening(port)).toBe(false);

    const second = startDev(env);
    running.push(second);
    try {
      await eventually(async () => expect(second.output()).toMatch(/sensorcloud ready/), {
        timeoutMs: 120_000,
      });
      expect(second.output()).toMatch(/restored 1 message\(s\) to sensorcloud-local-readings-dlq/);
      const rows = await call(`${api}/api/iot`, 'POST', token);
      expect(rows.status).toBe(200);
      expect((rows.body.data as unknown[]).length).toBe(50);
      const deadLetters = await peekAll(dlqUrl, sqs);
      expect(deadLetters.map((message) => message.Body)).toEqual(['{"dead":"letter"}']);
    } finally {
      sqs.destroy();
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    }
    for (const port of Object.values(ports)) expect(await listening(port)).toBe(false);
  }, 300_000);

  it('stops with a clear error, not a hang, when a port is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
    const taken = (blocker.address() as net.AddressInfo).port;
    const dev = startDev({
      API_PORT: String(taken),
      SENSORCLOUD_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'sc-')),
    });
    try {
      expect(await dev.exited).toBe(1);
      expect(dev.output()).toContain(`Port ${taken} (API (API_PORT)) is already in use`);
    } finally {
      blocker.close();
    }
  }, 60_000);
});
