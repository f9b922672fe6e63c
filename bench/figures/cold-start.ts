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

const NON_IMAGE_TARGET_MS = 80;
const IMAGE_TARGET_MS = 150;
const OWN_CODE_TARGET_KB = 300;
// The image API and processor (sharp, presigned URLs, S3): a separate, looser init target.
const isImageFunction = (key: string) => /image/.test(key);
// Bundled AWS SDK code (the SDK and the smithy runtime under it), told apart from our own and
// the other libraries in the size figures.
const isSdkInput = (input: string) => /node_modules\/(@aws-sdk|@smithy|@aws-crypto|@aws)\//.test(input);

// Figure 7: per function, the bundle serverless-esbuild would ship (same options, read from
// serverless.yml's custom.esbuild) and its module-init time: require() of the bundle in a fresh
// `node` process with the function's environment, ≥ 10 times. Also the warm per-request cost of the
// middleware stack every HTTP function runs through (bench/workers/noop-route.ts).

interface EsbuildConfig {
  minify?: boolean;
  sourcemap?: boolean | 'linked' | 'inline' | 'external' | 'both';
  target?: string;
  platform?: 'node';
  format?: 'cjs' | 'esm';
  mainFields?: string[];
  external?: string[];
  exclude?: string[];
  keepNames?: boolean;
}

// Loads the AWS SDK packages the bundle requires first (if custom.esbuild leaves them external), then
// the bundle, so one process gives the total and that split. The total is what a cold start pays.
const probe = `
const file = process.argv[1];
const source = require('node:fs').readFileSync(file, 'utf8');
const sdk = [...new Set([...source.matchAll(/require\\("(@aws-sdk\\/[^"]+)"\\)/g)].map((m) => m[1]))];
const cpuStarted = process.cpuUsage();
const started = process.hrtime.bigint();
// Optional SDK add-ons a bundle refers to but does not carry (e.g. the CRT signer) fail here as in Lambda.
for (const name of sdk) { try { require(name); } catch {} }
const sdkLoaded = process.hrtime.bigint();
require(file);
const done = process.hrtime.bigint();
const cpu = process.cpuUsage(cpuStarted);
process.stdout.write(JSON.stringify({
  ms: Number(done - started) / 1e6,
  cpuMs: (cpu.user + cpu.system) / 1e3,
  sdkMs: Number(sdkLoaded - started) / 1e6,
  ownMs: Number(done - sdkLoaded) / 1e6,
  rss: process.memoryUsage().rss,
}));
`;

// Warm per-request cost of the HTTP middleware stack: the same no-op route, wrapped and bare, called
// alternately in one process after a warm-up (the wrapper's log and metric lines go to stdout, as in
// Lambda); the result comes back through a file.
const middlewareProbe = `
const [file, out, calls] = process.argv.slice(1);
const { wrapped, bare } = require(file);
const event = { httpMethod: 'GET', path: '/noop', resource: '/noop', headers: {}, body: null,
  isBase64Encoded: false, pathParameters: null, queryStringParameters: null, requestContext: { requestId: 'bench' } };
const context = { functionName: 'noop', awsRequestId: 'bench', invokedFunctionArn: 'arn:aws:lambda:us-east-1:0:function:noop',
  memoryLimitInMB: '512', functionVersion: '$LATEST', getRemainingTimeInMillis: () => 10000 };
(async () => {
  const time = async (fn, n) => { const t = process.hrtime.bigint(); for (let i = 0; i < n; i++) await fn(event, context); return Number(process.hrtime.bigint() - t) / 1e3 / n; };
  await time(wrapped, 500); await time(bare, 500);
  const w = [], b = [];
  for (let round = 0; round < 5; round++) { w.push(await time(wrapped, Number(calls) / 5)); b.push(await time(bare, Number(calls) / 5)); }
  const median = (xs) => xs.sort((x, y) => x - y)[2];
  require('node:fs').writeFileSync(out, JSON.stringify({ wrappedUs: median(w), bareUs: median(b), calls: Number(calls) }));
})();
`;

async function measureMiddleware(
  dir: string,
  bundleOptions: Parameters<typeof build>[0],
  env: NodeJS.ProcessEnv,
): Promise<{ wrappedUs: number; bareUs: number; calls: number }> {
  const outfile = path.join(dir, 'noop-route', 'index.js');
  await build({
    ...bundleOptions,
    entryPoints: [path.join(projectRoot, 'bench', 'workers', 'noop-route.ts')],
    outfile,
  });
  const resultFile = path.join(dir, 'noop-route', 'result.json');
  const run = spawnSync(process.execPath, ['-e', middlewareProbe, outfile, resultFile, '5000'], {
    env,
    cwd: projectRoot,
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`middleware probe failed: ${run.stderr}`);
  return JSON.parse(readFileSync(resultFile, 'utf8')) as { wrappedUs: number; bareUs: number; calls: number };
}

export const coldStartFigure: Figure<Shared> = async (ctx) => {
  // ≥ 10 for the figure; the quick smoke run only checks it can be produced.
  const samples = ctx.quick ? 1 : 11;
  const options = ((ctx.config.custom as { esbuild?: EsbuildConfig } | undefined)?.esbuild ??
    {}) as EsbuildConfig;
  const external = [...(options.external ?? []), ...(options.exclude ?? [])];
  const sdkExternal = external.some((name) => name.startsWith('@aws-sdk'));
  // Inside the project, so a bundle resolves its external modules (the AWS SDK, sharp) from
  // node_modules as Lambda resolves them from the runtime's.
  mkdirSync(path.join(projectRoot, '.local', 'bench'), { recursive: true });
  const dir = mkdtempSync(path.join(projectRoot, '.local', 'bench', 'bundles-'));
  interface Row {
    fn: string;
    bytes: number;
    /** Of bytes: the bundled AWS SDK (0 when it is left to the runtime). */
    sdkBytes: number;
    zipBytes: number;
    mapBytes: number;
    usesSharp: boolean;
    /** The biggest contributors to the bundle, by package. */
    packages: Array<{ name: string; kb: number }>;
    init: Range;
    /** CPU time of the same init: what a busy machine inflates least (wall time includes waiting). */
    initCpu: Range;
    /** Of init: loading the AWS SDK packages the bundle requires (the runtime provides them). */
    sdkInit: Range;
    /** Of init: the bundle's own code, including constructing its SDK clients. */
    ownInit: Range;
    initWithoutNodeOptions: Range;
    nodeOptions: string;
    rssMb: number;
  }
  const rows: Row[] = [];
  const bundleOptions = {
    bundle: true,
    minify: options.minify ?? true,
    sourcemap: options.sourcemap === 'linked' ? ('linked' as const) : (options.sourcemap ?? false),
    target: options.target ?? 'node22',
    platform: options.platform ?? 'node',
    format: options.format ?? 'cjs',
    mainFields: options.mainFields,
    external,
    keepNames: options.keepNames ?? false,
    metafile: true,
    logLevel: 'error' as const,
  };
  let middleware: { wrappedUs: number; bareUs: number; calls: number } | undefined;
  try {
    // Bundled all at once (esbuild runs builds in parallel), then measured one process at a time.
    const bundles = await Promise.all(
      Object.entries(ctx.config.functions).map(async ([key, fn]) => {
        const [modulePath] = fn.handler.split(/\.(?=[^.]+$)/);
        const outfile = path.join(dir, key, 'index.js');
        const result = await build({
          ...bundleOptions,
          entryPoints: [path.join(projectRoot, `${modulePath}.ts`)],
          outfile,
        });
        return { key, outfile, result };
      }),
    );
    for (const { key, outfile, result } of bundles) {
      const output = Object.values(result.metafile?.outputs ?? {}).find((out) => out.entryPoint);
      const usesSharp = (output?.imports ?? []).some((imported) => imported.path === 'sharp');
      const byPackage = new Map<string, number>();
      let sdkBytes = 0;
      for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
        if (isSdkInput(input)) sdkBytes += bytesInOutput;
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
      const cpuTimes: number[] = [];
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
        return JSON.parse(run.stdout) as {
          ms: number;
          cpuMs: number;
          sdkMs: number;
          ownMs: number;
          rss: number;
        };
      };
      for (let sample = 0; sample < samples; sample += 1) {
        const measured = measure(env);
        times.push(measured.ms);
        cpuTimes.push(measured.cpuMs);
        sdkTimes.push(measured.sdkMs);
        ownTimes.push(measured.ownMs);
        rss = Math.max(rss, measured.rss);
        if (!ctx.quick) bareTimes.push(measure({ ...env, NODE_OPTIONS: '' }).ms);
      }
      const code = readFileSync(outfile);
      rows.push({
        fn: key,
        bytes: code.length,
        sdkBytes,
        zipBytes: deflateRawSync(code, { level: 9 }).length,
        mapBytes: statSync(`${outfile}.map`, { throwIfNoEntry: false })?.size ?? 0,
        usesSharp,
        packages,
        init: range(times),
        initCpu: range(cpuTimes),
        sdkInit: range(sdkTimes),
        ownInit: range(ownTimes),
        initWithoutNodeOptions: range(bareTimes),
        nodeOptions: env.NODE_OPTIONS ?? '',
        rssMb: rss / 1024 ** 2,
      });
      ctx.log(
        `  ${key}: ${(code.length / 1024).toFixed(0)} KB (AWS SDK ${(sdkBytes / 1024).toFixed(0)}), init ${fmt(range(times).median)} ms (CPU ${fmt(range(cpuTimes).median)} ms)`,
      );
    }
    middleware = await measureMiddleware(dir, bundleOptions, {
      ...ctx.env,
      ...functionEnvironment(ctx.config, 'not-found'),
      PATH: process.env.PATH ?? '',
    });
    ctx.log(
      `  middleware stack: ${fmt(middleware.wrappedUs - middleware.bareUs)} µs per warm request (${fmt(middleware.wrappedUs)} wrapped, ${fmt(middleware.bareUs)} bare)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const sizeChart = await renderChart(
    ctx.outDir,
    'coldstart-size',
    rangeBars(
      rows.flatMap((row) => [
        {
          x: row.fn,
          series: 'bundle KB',
          median: row.bytes / 1024,
          min: row.bytes / 1024,
          max: row.bytes / 1024,
        },
        ...(row.sdkBytes > 0
          ? [
              {
                x: row.fn,
                series: 'of which the AWS SDK',
                median: row.sdkBytes / 1024,
                min: row.sdkBytes / 1024,
                max: row.sdkBytes / 1024,
              },
            ]
          : []),
      ]),
      {
        title: 'Cold start: bundle size per function',
        subtitle: `esbuild with serverless.yml's custom.esbuild options; external (not bundled): ${external.join(', ') || 'none'}`,
        xTitle: '',
        yTitle: 'KB (minified JS)',
        rules: [{ y: OWN_CODE_TARGET_KB, label: `target without the SDK: ${OWN_CODE_TARGET_KB} KB` }],
      },
    ),
  );
  const initChart = await renderChart(
    ctx.outDir,
    'coldstart-init',
    rangeBars(
      rows.flatMap((row) => [
        { x: row.fn, series: 'total, as deployed', ...row.init },
        ...(sdkExternal
          ? [
              { x: row.fn, series: 'of which the AWS SDK', ...row.sdkInit },
              { x: row.fn, series: 'of which the bundle', ...row.ownInit },
            ]
          : []),
        ...(row.initWithoutNodeOptions.runs
          ? [{ x: row.fn, series: 'total without NODE_OPTIONS', ...row.initWithoutNodeOptions }]
          : []),
      ]),
      {
        title: 'Cold start: module-init time per function',
        subtitle: `require() of the bundle in a fresh node ${process.version} process; median of ${samples} (bars: min–max); NODE_OPTIONS as deployed: ${rows[0]?.nodeOptions || 'none'}`,
        xTitle: '',
        yTitle: 'ms',
        rules: [
          { y: NON_IMAGE_TARGET_MS, label: `target: ${NON_IMAGE_TARGET_MS} ms` },
          { y: IMAGE_TARGET_MS, label: `image functions: ${IMAGE_TARGET_MS} ms` },
        ],
      },
    ),
  );
  const slowestOf = (of: Row[]) => of.reduce((a, b) => (b.init.median > a.init.median ? b : a), of[0] as Row);
  const plain = rows.filter((row) => !isImageFunction(row.fn));
  const images = rows.filter((row) => isImageFunction(row.fn));
  const ownKb = (row: Row) => (row.bytes - row.sdkBytes) / 1024;
  const largestOwn = rows.reduce((a, b) => (ownKb(b) > ownKb(a) ? b : a), rows[0] as Row);
  const slowest = slowestOf(plain);
  const slowestImage = images.length ? slowestOf(images) : undefined;
  const overheadUs = middleware ? middleware.wrappedUs - middleware.bareUs : Number.NaN;
  return {
    key: 'coldstart',
    title: '7. Cold start',
    headline: [
      `Cold start: slowest non-image module init ${fmt(slowest.init.median)} ms (${slowest.fn})` +
        (slowestImage ? `, image ${fmt(slowestImage.init.median)} ms (${slowestImage.fn})` : '') +
        `; AWS SDK ${sdkExternal ? 'from the runtime' : 'bundled'}; middleware stack ${fmt(overheadUs)} µs per warm request`,
    ],
    targets: [
      {
        name: 'Non-image module init (slowest, median)',
        target: `≤ ${NON_IMAGE_TARGET_MS} ms`,
        measured: `${fmt(slowest.init.median)} ms (${slowest.fn}; CPU ${fmt(slowest.initCpu.median)} ms)`,
        met: slowest.init.median <= NON_IMAGE_TARGET_MS,
      },
      ...(slowestImage
        ? [
            {
              name: 'Image function module init (slowest, median)',
              target: `≤ ${IMAGE_TARGET_MS} ms`,
              measured: `${fmt(slowestImage.init.median)} ms (${slowestImage.fn}; CPU ${fmt(slowestImage.initCpu.median)} ms)`,
              met: slowestImage.init.median <= IMAGE_TARGET_MS,
            },
          ]
        : []),
      {
        name: 'Bundle without the AWS SDK (largest)',
        target: `≤ ${OWN_CODE_TARGET_KB} KB`,
        measured: `${fmt(ownKb(largestOwn))} KB (${largestOwn.fn})`,
        met: ownKb(largestOwn) <= OWN_CODE_TARGET_KB,
      },
    ],
    data: { samples, external, rows, middleware },
    write: (report) => {
      report
        .paragraph(
          `Each function is bundled as serverless-esbuild bundles it for \`serverless package\` (options from \`custom.esbuild\`; external: ${external.join(', ') || 'none'}). ` +
            (sdkExternal
              ? 'The AWS SDK is left to the Lambda runtime and loaded from node_modules here.'
              : 'The AWS SDK is bundled (the version in package-lock.json, tree-shaken from its ES modules), so production runs what the tests ran.'),
          `Module init is the time \`require()\` of the bundle takes in a fresh \`node\` ${process.version} process with the function's environment (including its \`NODE_OPTIONS\`), ${samples} processes per function.`,
          "It excludes starting Node itself and Lambda's own sandbox start. Image functions (name contains `image`) have their own target.",
          'The CPU time of the same init is printed beside it: on a machine shared with other work the wall time also counts waiting for a core, the CPU time much less so; compare runs by it when the load average differs.',
          middleware
            ? `Middleware stack, warm: a no-op route through the wrapper every HTTP function uses (logger context, AWS call timings, metrics, error mapping) took ${fmt(middleware.wrappedUs)} µs per request against ${fmt(middleware.bareUs)} µs bare, i.e. ${fmt(overheadUs)} µs of overhead (median of 5 rounds of ${middleware.calls / 5} calls, after a warm-up).`
            : '',
        )
        .image('Bundle sizes', sizeChart.png, sizeChart.svg)
        .image('Module init', initChart.png, initChart.svg)
        .table(
          [
            'function',
            'bundle KB',
            'of which AWS SDK KB',
            'deflated KB',
            'source map KB',
            'init ms',
            'init CPU ms',
            ...(sdkExternal ? ['of which AWS SDK ms', 'of which bundle ms'] : []),
            'init ms without NODE_OPTIONS',
            'RSS after init MB',
            'sharp',
            'largest parts (KB)',
          ],
          rows.map((row) => [
            row.fn,
            fmt(row.bytes / 1024),
            fmt(row.sdkBytes / 1024),
            fmt(row.zipBytes / 1024),
            fmt(row.mapBytes / 1024),
            fmtRange(row.init),
            fmtRange(row.initCpu),
            ...(sdkExternal ? [fmtRange(row.sdkInit), fmtRange(row.ownInit)] : []),
            fmtRange(row.initWithoutNodeOptions),
            fmt(row.rssMb),
            row.usesSharp ? 'yes' : '',
            row.packages.map((entry) => `${entry.name} ${fmt(entry.kb)}`).join(', '),
          ]),
        );
    },
  };
};
