// `npm run bench [-- --quick] [-- --url http://localhost:3000] [-- --only ingest,queries,exports] [-- --out DIR]`
// Measures the platform on this machine and writes bench/results/<date>/report.md with its charts.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { assertProjectNode } from '../scripts/local/runtime';
import { projectRoot } from '../scripts/local/service-config';
import { aggregatesFigure } from './figures/aggregates';
import { coldStartFigure } from './figures/cold-start';
import { consumerFigure } from './figures/consumer';
import { costFigure } from './figures/cost';
import { endToEndFigure } from './figures/end-to-end';
import { exportsFigure } from './figures/exports';
import { imagesFigure } from './figures/images';
import { ingestFigure } from './figures/ingest';
import { mixesFigure } from './figures/mixes';
import { queriesFigure } from './figures/queries';
import { type BenchContext, openContext } from './lib/context';
import { type Figure, type FigureOutput, timed } from './lib/figure';
import { describeMachine } from './lib/machine';
import type { Shared } from './lib/shared';
import { writeReport } from './lib/write-report';

// Needs the stack: run while it is up. The rest run after it stops, so its pollers and DynamoDB
// Local do not share the CPU with CPU-bound measurements.
const stackFigures: Array<[string, Figure<Shared>]> = [
  ['ingest', ingestFigure],
  ['e2e', endToEndFigure],
  ['consumer', consumerFigure],
  ['queries', queriesFigure],
  ['exports', exportsFigure],
  ['mixes', mixesFigure],
  ['aggregates', aggregatesFigure],
];
const offlineFigures: Array<[string, Figure<Shared>]> = [
  ['images', imagesFigure],
  ['coldstart', coldStartFigure],
  ['cost', costFigure],
];

async function main(): Promise<void> {
  assertProjectNode();
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      url: { type: 'string' },
      only: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const started = Date.now();
  const date = new Date().toISOString().slice(0, 10);
  const outDir = path.resolve(values.out ?? path.join(projectRoot, 'bench', 'results', date));
  const logsDir = path.join(outDir, 'logs');
  mkdirSync(logsDir, { recursive: true });
  const only = values.only ? new Set(values.only.split(',').map((name) => name.trim())) : undefined;
  const wanted = ([name]: [string, Figure<Shared>]) => !only || only.has(name);
  const log = (line: string) =>
    console.log(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${line}`);
  const quick = values.quick ?? false;
  log(`${quick ? 'quick' : 'full'} run → ${path.relative(process.cwd(), outDir) || '.'}`);

  const machine = describeMachine();
  const shared: Shared = {};
  const outputs: FigureOutput[] = [];
  const ctx: BenchContext = await openContext({ quick, outDir, logsDir, url: values.url, log });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: stopping the local stack`);
      void ctx.stop().finally(() => process.exit(130));
    });
  }
  const run = async ([name, figure]: [string, Figure<Shared>]) => {
    log(`figure ${name}…`);
    const output = await timed(figure, ctx, shared);
    log(`figure ${name} done in ${output.seconds.toFixed(1)} s`);
    outputs.push(output);
  };
  try {
    for (const entry of stackFigures.filter(wanted)) await run(entry);
  } finally {
    await ctx.stop();
  }
  for (const entry of offlineFigures.filter(wanted)) await run(entry);

  const totalSeconds = (Date.now() - started) / 1000;
  const reportFile = writeReport({ outDir, outputs, machine, quick, totalSeconds, url: values.url });
  writeFileSync(
    path.join(outDir, 'results.json'),
    `${JSON.stringify({ date, quick, machine, totalSeconds, figures: outputs.map(({ write: _, ...rest }) => rest) }, null, 2)}\n`,
  );
  // What CI's smoke run relies on: the report exists and every chart it links to was written.
  const linked = [...readFileSync(reportFile, 'utf8').matchAll(/\]\(([^)\s]+\.(?:png|svg))\)/g)].map(
    (match) => match[1] as string,
  );
  const missing = linked.filter((file) => !existsSync(path.join(outDir, file)));
  if (missing.length)
    throw new Error(`the report links to charts that were not written: ${missing.join(', ')}`);
  log(
    `report: ${path.relative(process.cwd(), reportFile)} with ${linked.length} chart files (${totalSeconds.toFixed(0)} s in all)`,
  );
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    console.error(`bench failed: ${error.stack ?? error.message}`);
    process.exit(1);
  },
);
