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
}

export type Figure<S> = (ctx: BenchContext, shared: S) => Promise<Omit<FigureOutput, 'seconds' | 'load'>>;

export async function timed<S>(figure: Figure<S>, ctx: BenchContext, shared: S): Promise<FigureOutput> {
  const before = os.loadavg()[0] ?? 0;
  const started = performance.now();
  const output = await figure(ctx, shared);
  return {
    ...output,
    seconds: (performance.now() - started) / 1000,
    load: [before, os.loadavg()[0] ?? 0],
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
