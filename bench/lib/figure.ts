import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { BenchContext } from './context';
import type { Report } from './report';

/** A target from the issue, reported against (never asserted). */
export interface Target {
  name: string;
  target: string;
  measured: string;
  /** null when it could not be measured on this machine (e.g. a missing tool). */
  met: boolean | null;
}

export interface FigureOutput {
  key: string;
  title: string;
  /** Appends this figure's section (text, tables, charts) to the report. */
  write(report: Report): void;
  targets: Target[];
  /** One-line results for the summary at the top of the report. */
  headline: string[];
  /** Raw numbers, saved to results.json. */
  data: unknown;
  seconds: number;
  /** 1-minute load average when the figure started and ended: other work on the machine shows here. */
  load: [number, number];
  /**
   * Share of CPU time the hypervisor gave to other guests while the figure ran (Linux "steal"), in %:
   * contention a load average cannot show. Undefined where /proc/stat is not available.
   */
  stealPercent?: number;
}

/** Linux CPU counters (all CPUs): steal and total jiffies. */
function cpuTimes(): { steal: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const fields = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already counted in user).
    const counted = fields.slice(0, 8);
    if (counted.length < 8 || counted.some(Number.isNaN)) return undefined;
    return { steal: counted[7] ?? 0, total: counted.reduce((sum, value) => sum + value, 0) };
  } catch {
    return undefined;
  }
}

export type Figure<S> = (ctx: BenchContext, shared: S) => Promise<Omit<FigureOutput, 'seconds' | 'load'>>;

export async function timed<S>(figure: Figure<S>, ctx: BenchContext, shared: S): Promise<FigureOutput> {
  const before = os.loadavg()[0] ?? 0;
  const cpuBefore = cpuTimes();
  const started = performance.now();
  const output = await figure(ctx, shared);
  const cpuAfter = cpuTimes();
  const elapsed = cpuBefore && cpuAfter ? cpuAfter.total - cpuBefore.total : 0;
  return {
    ...output,
    seconds: (performance.now() - started) / 1000,
    load: [before, os.loadavg()[0] ?? 0],
    // Meaningless over a few clock ticks (100 a second per CPU): only for figures of a second or more.
    stealPercent:
      cpuBefore && cpuAfter && elapsed >= 100 * os.cpus().length
        ? (100 * (cpuAfter.steal - cpuBefore.steal)) / elapsed
        : undefined,
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
