// `npm run measure:stack`: how long the local cloud takes to answer HTTP and how much memory it uses
// (RSS of this process and every descendant: DynamoDB Local, serverless offline and its workers).
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePorts, waitFor } from './local/ports';
import { startLocalStack } from './local/stack';

function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // exited meanwhile
    }
  }
  const all: number[] = [];
  const visit = (id: number) => {
    for (const child of children.get(id) ?? []) {
      all.push(child);
      visit(child);
    }
  };
  visit(pid);
  return all;
}

function rssMb(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 3);
  const results: Array<{ readyMs: number; firstHealthMs: number; rssMb: number }> = [];
  for (let run = 0; run < runs; run += 1) {
    const started = Date.now();
    const stack = await startLocalStack({
      ports: await freePorts(),
      dataDir: mkdtempSync(path.join(os.tmpdir(), 'sensorcloud-measure-')),
      persist: true,
      adminToken: 'measure-admin-token-000000',
      log: () => undefined,
      onFunctionOutput: () => undefined,
    });
    const readyMs = Date.now() - started;
    // The first call cold-starts the function's worker; on a busy machine it can time out once.
    await waitFor('GET /health 200', async () => {
      const health = await fetch(`${stack.urls.api}/health`);
      if (health.status !== 200) throw new Error(`health answered ${health.status}`);
    });
    const firstHealthMs = Date.now() - started;
    // Let the first invocations settle, then sample memory a few times and keep the peak.
    let peak = 0;
    for (let sample = 0; sample < 5; sample += 1) {
      await fetch(`${stack.urls.api}/health`);
      await new Promise((resolve) => setTimeout(resolve, 400));
      const total = [process.pid, ...descendants(process.pid)].reduce((sum, pid) => sum + rssMb(pid), 0);
      peak = Math.max(peak, total);
    }
    results.push({ readyMs, firstHealthMs, rssMb: Math.round(peak) });
    await stack.stop({ drainTimeoutMs: 2_000 });
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  console.log(JSON.stringify({ cores: os.cpus().length, node: process.version, runs: results }, null, 2));
  console.log(
    `ready median ${median(results.map((r) => r.readyMs))} ms, first /health 200 median ${median(results.map((r) => r.firstHealthMs))} ms, RSS median ${median(results.map((r) => r.rssMb))} MB`,
  );
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
