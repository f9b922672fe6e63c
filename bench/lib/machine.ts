import { execFileSync, spawnSync } from 'node:child_process';
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
    dirty: git('status', '--porcelain', '--untracked-files=no') !== '',
    branch: git('rev-parse', '--abbrev-ref', 'HEAD') || 'unknown',
  };
}
