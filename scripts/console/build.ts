// Builds the web console (console/src) into a folder of static files: index.html, hashed JS and CSS.
// The same files are served by the local gateway and uploaded to S3 behind CloudFront in AWS.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

export const consoleRoot = path.resolve(__dirname, '../../console');

export interface ConsoleBuild {
  dir: string;
  /** Asset file name → bytes gzipped (what a browser downloads at most on first view). */
  gzipBytes: Record<string, number>;
}

export interface BuildOptions {
  outDir: string;
  /** Adds the live-reload client (a file, so the CSP stays strict) and skips minification. */
  liveReload?: boolean;
}

function esbuildOptions(outDir: string, liveReload: boolean): esbuild.BuildOptions {
  return {
    entryPoints: { app: path.join(consoleRoot, 'src/main.tsx') },
    outdir: path.join(outDir, 'assets'),
    entryNames: '[name]-[hash]',
    bundle: true,
    format: 'esm',
    splitting: false,
    minify: !liveReload,
    sourcemap: liveReload ? 'inline' : false,
    target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    loader: { '.css': 'css' },
    metafile: true,
    write: true,
    legalComments: 'none',
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': liveReload ? '"development"' : '"production"' },
  };
}

function indexHtml(files: string[], liveReload: boolean): string {
  const scripts = files.filter((file) => file.endsWith('.js')).map((file) => `/assets/${file}`);
  const styles = files.filter((file) => file.endsWith('.css')).map((file) => `/assets/${file}`);
  if (liveReload) scripts.push('/assets/live-reload.js');
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>sensorcloud console</title>',
    '<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">',
    ...styles.map((href) => `<link rel="stylesheet" href="${href}">`),
    ...scripts.map((src) => `<script type="module" src="${src}"></script>`),
    '</head>',
    '<body>',
    '<div id="app"><p class="boot">Loading the console…</p></div>',
    '<noscript>The sensorcloud console needs JavaScript.</noscript>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function writeHtmlAndStatics(outDir: string, liveReload: boolean): ConsoleBuild {
  const assetsDir = path.join(outDir, 'assets');
  const files = readdirSync(assetsDir).filter((file) => /^app-.*\.(js|css)$/.test(file));
  for (const name of readdirSync(path.join(consoleRoot, 'public')))
    writeFileSync(path.join(assetsDir, name), readFileSync(path.join(consoleRoot, 'public', name)));
  if (liveReload)
    writeFileSync(
      path.join(assetsDir, 'live-reload.js'),
      // Reloads the page when the gateway says the console was rebuilt.
      "new EventSource('/__console/events').addEventListener('rebuilt', () => location.reload());\n",
    );
  writeFileSync(path.join(outDir, 'index.html'), indexHtml(files, liveReload));
  const gzipBytes: Record<string, number> = {};
  for (const file of files) gzipBytes[file] = gzipSync(readFileSync(path.join(assetsDir, file))).length;
  return { dir: outDir, gzipBytes };
}

/** One build (dev start, tests, deploy): a clean folder, minified, content-hashed names. */
export async function buildConsole({ outDir, liveReload = false }: BuildOptions): Promise<ConsoleBuild> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(path.join(outDir, 'assets'), { recursive: true });
  await esbuild.build(esbuildOptions(outDir, liveReload));
  return writeHtmlAndStatics(outDir, liveReload);
}

/** Rebuilds on every change under console/; calls `onRebuilt` after each successful build. */
export async function watchConsole(
  outDir: string,
  onRebuilt: (build: ConsoleBuild) => void,
  onError: (message: string) => void,
): Promise<{ stop(): Promise<void> }> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(path.join(outDir, 'assets'), { recursive: true });
  const reporter: esbuild.Plugin = {
    name: 'console-rebuilt',
    setup(build) {
      build.onStart(() => {
        // Old hashed files would otherwise pile up, one pair per edit.
        for (const file of readdirSync(path.join(outDir, 'assets')))
          if (/^app-/.test(file)) rmSync(path.join(outDir, 'assets', file));
      });
      build.onEnd((result) => {
        if (result.errors.length > 0) {
          onError(result.errors.map((error) => error.text).join('\n'));
          return;
        }
        onRebuilt(writeHtmlAndStatics(outDir, true));
      });
    },
  };
  const context = await esbuild.context({ ...esbuildOptions(outDir, true), plugins: [reporter] });
  await context.watch();
  return { stop: () => context.dispose() };
}
