import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { build } from 'esbuild';
import { functionEnvironment, projectRoot } from '../../scripts/local/service-config';
import { rangeBars, renderChart } from '../lib/charts';
import type { Figure } from '../lib/figure';
import type { Shared } from '../lib/shared';
import { fmt, fmtRange, type Range, range } from '../lib/stats';

// Figure 7: per function, the bundle serverless-esbuild would ship (same options, read from
// serverless.yml's custom.esbuild) and its module-init time: require() of the bundle in a fresh
// `node` process with the function's environment, ≥ 10 times.

interface EsbuildConfig {
  minify?: boolean;
  sourcemap?: boolean | 'linked' | 'inline' | 'external' | 'both';
  target?: string;
  platform?: 'node';
  format?: 'cjs' | 'esm';
  external?: string[];
  exclude?: string[];
  keepNames?: boolean;
}

// Loads the AWS SDK packages the bundle requires first, then the bundle, so one process gives the
// total and its split: the SDK the Lambda runtime provides, and this project's own bundled code
// (including constructing the SDK clients). The total is what a cold start pays either way.
const probe = `
const file = process.argv[1];
const source = require('node:fs').readFileSync(file, 'utf8');
const sdk = [...new Set([...source.matchAll(/require\\("(@aws-sdk\\/[^"]+)"\\)/g)].map((m) => m[1]))];
const started = process.hrtime.bigint();
for (const name of sdk) require(name);
const sdkLoaded = process.hrtime.bigint();
require(file);
const done = process.hrtime.bigint();
process.stdout.write(JSON.stringify({
  ms: Number(done - started) / 1e6,
  sdkMs: Number(sdkLoaded - started) / 1e6,
  ownMs: Number(done - sdkLoaded) / 1e6,
  rss: process.memoryUsage().rss,
}));
`;

export const coldStartFigure: Figure<Shared> = async (ctx) => {
  // ≥ 10 for the figure; the quick smoke run only checks it can be produced.
  const samples = ctx.quick ? 1 : 11;
  const options = ((ctx.config.custom as { esbuild?: EsbuildConfig } | undefined)?.esbuild ??
    {}) as EsbuildConfig;
  const external = [...(options.external ?? []), ...(options.exclude ?? [])];
  // Inside the project, so a bundle resolves its external modules (the AWS SDK, sharp) from
  // node_modules as Lambda resolves them from the runtime's.
  mkdirSync(path.join(projectRoot, '.local', 'bench'), { recursive: true });
  const dir = mkdtempSync(path.join(projectRoot, '.local', 'bench', 'bundles-'));
  interface Row {
    fn: string;
    bytes: number;
    zipBytes: number;
    mapBytes: number;
    usesSharp: boolean;
    /** The biggest contributors to the bundle, by package. */
    packages: Array<{ name: string; kb: number }>;
    init: Range;
    /** Of init: loading the AWS SDK packages the bundle requires (the runtime provides them). */
    sdkInit: Range;
    /** Of init: the bundle's own code, including constructing its SDK clients. */
    ownInit: Range;
    initWithoutNodeOptions: Range;
    nodeOptions: string;
    rssMb: number;
  }
  const rows: Row[] = [];
  try {
    // Bundled all at once (esbuild runs builds in parallel), then measured one process at a time.
    const bundles = await Promise.all(
      Object.entries(ctx.config.functions).map(async ([key, fn]) => {
        const [modulePath] = fn.handler.split(/\.(?=[^.]+$)/);
        const outfile = path.join(dir, key, 'index.js');
        const result = await build({
          entryPoints: [path.join(projectRoot, `${modulePath}.ts`)],
          outfile,
          bundle: true,
          minify: options.minify ?? true,
          sourcemap: options.sourcemap === 'linked' ? 'linked' : (options.sourcemap ?? false),
          target: options.target ?? 'node22',
          platform: options.platform ?? 'node',
          format: options.format ?? 'cjs',
          external,
          keepNames: options.keepNames ?? false,
          metafile: true,
          logLevel: 'error',
        });
        return { key, outfile, result };
      }),
    );
    for (const { key, outfile, result } of bundles) {
      const output = Object.values(result.metafile.outputs).find((out) => out.entryPoint);
      const usesSharp = (output?.imports ?? []).some((imported) => imported.path === 'sharp');
      const byPackage = new Map<string, number>();
      for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
        const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
        const name = match?.[1] ?? 'src (this project)';
        byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
      }
      const packages = [...byPackage]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 4)
        .map(([name, bytes]) => ({ name, kb: bytes / 1024 }));
      const env: Record<string, string> = {
        ...ctx.env,
        ...functionEnvironment(ctx.config, key),
        PATH: process.env.PATH ?? '',
      };
      const times: number[] = [];
      const sdkTimes: number[] = [];
      const ownTimes: number[] = [];
      // The same without NODE_OPTIONS (--enable-source-maps makes Node read the source map at load).
      const bareTimes: number[] = [];
      let rss = 0;
      const measure = (runEnv: NodeJS.ProcessEnv) => {
        const run = spawnSync(process.execPath, ['-e', probe, outfile], {
          env: runEnv,
          encoding: 'utf8',
          cwd: projectRoot,
        });
        if (run.status !== 0) throw new Error(`${key}: require() failed: ${run.stderr}`);
        return JSON.parse(run.stdout) as { ms: number; sdkMs: number; ownMs: number; rss: number };
      };
      for (let sample = 0; sample < samples; sample += 1) {
        const measured = measure(env);
        times.push(measured.ms);
        sdkTimes.push(measured.sdkMs);
        ownTimes.push(measured.ownMs);
        rss = Math.max(rss, measured.rss);
        if (!ctx.quick) bareTimes.push(measure({ ...env, NODE_OPTIONS: '' }).ms);
      }
      const code = readFileSync(outfile);
      rows.push({
        fn: key,
        bytes: code.length,
        zipBytes: deflateRawSync(code, { level: 9 }).length,
        mapBytes: statSync(`${outfile}.map`, { throwIfNoEntry: false })?.size ?? 0,
        usesSharp,
        packages,
        init: range(times),
        sdkInit: range(sdkTimes),
        ownInit: range(ownTimes),
        initWithoutNodeOptions: range(bareTimes),
        nodeOptions: env.NODE_OPTIONS ?? '',
        rssMb: rss / 1024 ** 2,
      });
      ctx.log(
        `  ${key}: ${(code.length / 1024).toFixed(0)} KB, init ${fmt(range(times).median)} ms (AWS SDK ${fmt(range(sdkTimes).median)}, own code ${fmt(range(ownTimes).median)})`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const sizeChart = await renderChart(
    ctx.outDir,
    'coldstart-size',
    rangeBars(
      rows.map((row) => ({
        x: row.fn,
        series: 'bundle KB',
        median: row.bytes / 1024,
        min: row.bytes / 1024,
        max: row.bytes / 1024,
      })),
      {
        title: 'Cold start: bundle size per function',
        subtitle: `esbuild with serverless.yml's custom.esbuild options; external (not bundled): ${external.join(', ')}`,
        xTitle: '',
        yTitle: 'KB (minified JS)',
        rules: [{ y: 300, label: 'target: 300 KB' }],
      },
    ),
  );
  const initChart = await renderChart(
    ctx.outDir,
    'coldstart-init',
    rangeBars(
      rows.flatMap((row) => [
        { x: row.fn, series: 'total, as deployed', ...row.init },
        { x: row.fn, series: 'of which the AWS SDK', ...row.sdkInit },
        { x: row.fn, series: 'of which the bundle', ...row.ownInit },
        ...(row.initWithoutNodeOptions.runs
          ? [{ x: row.fn, series: 'total without NODE_OPTIONS', ...row.initWithoutNodeOptions }]
          : []),
      ]),
      {
        title: 'Cold start: module-init time per function',
        subtitle: `require() of the bundle in a fresh node ${process.version} process; median of ${samples} (bars: min–max); as deployed: NODE_OPTIONS=${rows[0]?.nodeOptions || 'none'}`,
        xTitle: '',
        yTitle: 'ms',
        rules: [{ y: 50, label: 'target: 50 ms' }],
      },
    ),
  );
  const plain = rows.filter((row) => !row.usesSharp);
  const largestBundle = plain.reduce((a, b) => (b.bytes > a.bytes ? b : a), plain[0] as Row);
  const slowest = plain.reduce((a, b) => (b.init.median > a.init.median ? b : a), plain[0] as Row);
  const slowestOwn = plain.reduce((a, b) => (b.ownInit.median > a.ownInit.median ? b : a), plain[0] as Row);
  return {
    key: 'coldstart',
    title: '7. Cold start',
    headline: [
      `Cold start: largest non-image bundle ${fmt(largestBundle.bytes / 1024)} KB (${largestBundle.fn}); slowest module init ${fmt(slowest.init.median)} ms (${slowest.fn}: AWS SDK ${fmt(slowest.sdkInit.median)} ms, own code ${fmt(slowest.ownInit.median)} ms)`,
    ],
    targets: [
      {
        name: 'Non-image bundle size (largest)',
        target: '≤ 300 KB',
        measured: `${fmt(largestBundle.bytes / 1024)} KB (${largestBundle.fn})`,
        met: largestBundle.bytes <= 300 * 1024,
      },
      {
        name: 'Non-image module init (slowest, median)',
        target: '≤ 50 ms',
        measured: `${fmt(slowest.init.median)} ms (${slowest.fn}), of which the AWS SDK ${fmt(slowest.sdkInit.median)} ms`,
        met: slowest.init.median <= 50,
      },
      {
        name: 'Non-image module init without the AWS SDK (slowest, median)',
        target: '≤ 50 ms',
        measured: `${fmt(slowestOwn.ownInit.median)} ms (${slowestOwn.fn})`,
        met: slowestOwn.ownInit.median <= 50,
      },
    ],
    data: { samples, external, rows },
    write: (report) => {
      report
        .paragraph(
          `Each function is bundled as serverless-esbuild bundles it for \`serverless package\` (options from \`custom.esbuild\`; ${external.join(', ')} left external: the AWS SDK comes with the Lambda runtime, sharp ships as a native module).`,
          `Module init is the time \`require()\` of the bundle takes in a fresh \`node\` process with the function's environment (including its \`NODE_OPTIONS\`), ${samples} processes per function.`,
          "It includes loading the external AWS SDK clients from node_modules, as the runtime does; it excludes starting Node itself and Lambda's own sandbox start.",
          'Each process loads the AWS SDK packages the bundle requires first and then the bundle, so the total splits into the SDK (which no bundling choice of ours removes while the SDK stays external) and the bundle itself (its code, Powertools, zod, the X-Ray SDK, and constructing the clients).',
        )
        .image('Bundle sizes', sizeChart.png, sizeChart.svg)
        .image('Module init', initChart.png, initChart.svg)
        .table(
          [
            'function',
            'bundle KB',
            'deflated KB',
            'source map KB',
            'init ms',
            'of which AWS SDK ms',
            'of which bundle ms',
            'init ms without NODE_OPTIONS',
            'RSS after init MB',
            'sharp',
            'largest parts (KB)',
          ],
          rows.map((row) => [
            row.fn,
            fmt(row.bytes / 1024),
            fmt(row.zipBytes / 1024),
            fmt(row.mapBytes / 1024),
            fmtRange(row.init),
            fmtRange(row.sdkInit),
            fmtRange(row.ownInit),
            fmtRange(row.initWithoutNodeOptions),
            fmt(row.rssMb),
            row.usesSharp ? 'yes' : '',
            row.packages.map((entry) => `${entry.name} ${fmt(entry.kb)}`).join(', '),
          ]),
        );
    },
  };
};
