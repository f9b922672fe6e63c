import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import os from 'node:os';
import { projectRoot } from '../../scripts/local/service-config';

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  java: string;
  commit: string;
  dirty: boolean;
  branch: string;
  /** Milliseconds one core takes for a fixed piece of work (median of 5): compares machines and runs. */
  cpuProbeMs: number;
}

/**
 * SHA-256 of 100,000 short strings, 5 times, median. The same machine can run ±30 % slower from one
 * hour to the next when it is a VM sharing its host; this number shows it next to the results.
 */
function cpuProbe(): number {
  const times: number[] = [];
  for (let round = 0; round < 5; round += 1) {
    const started = performance.now();
    for (let index = 0; index < 100_000; index += 1) createHash('sha256').update(`probe ${index}`).digest();
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[2] ?? 0;
}

const git = (...args: string[]) => {
  try {
    return execFileSync('git', args, { cwd: projectRoot, encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
};

/** What the numbers were measured on: they mean little without it. */
export function describeMachine(): Machine {
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' });
  return {
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    os: `${os.type()} ${os.release()} (${os.arch()})`,
    node: process.version,
    java: (java.stderr ?? '').split('\n')[0]?.trim() || 'not found',
    commit: git('rev-parse', 'HEAD') || 'unknown',
    // Results written by the bench itself (the committed sample) do not make the code dirty.
    dirty: git('status', '--porcelain', '--untracked-files=no', '--', '.', ':!bench/results') !== '',
    branch: git('rev-parse', '--abbrev-ref', 'HEAD') || 'unknown',
    cpuProbeMs: cpuProbe(),
  };
}
