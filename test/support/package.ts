import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { projectRoot, quietSlsEnv, slsBin } from '../../scripts/local/service-config';

const run = promisify(execFile);

export interface CfnTemplate {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; DependsOn?: unknown }>;
  Outputs?: Record<string, unknown>;
}

/** `serverless package` output of this test run: `.serverless`-style folder with the template and zips. */
export const packageDir = () =>
  path.join(projectRoot, '.local', 'test', `package-${process.env.SENSORCLOUD_RUN_ID ?? 'manual'}`);

/**
 * Packages the service once per test run (stage dev, no AWS credentials), however many test files
 * ask: the first caller packages under a lock, the others wait for its result.
 */
export async function packagedTemplate(): Promise<CfnTemplate> {
  const dir = packageDir();
  const done = path.join(dir, 'DONE');
  const lock = `${dir}.lock`;
  let owner = false;
  try {
    mkdirSync(lock, { recursive: false });
    owner = true;
  } catch {
    // Someone else is packaging (or has).
  }
  if (owner && !existsSync(done)) {
    const env: NodeJS.ProcessEnv = { ...process.env, ...quietSlsEnv };
    // No credentials may be needed: make sure none leak in from the emulators' settings.
    for (const name of Object.keys(env)) if (name.startsWith('AWS_')) delete env[name];
    await run(process.execPath, [slsBin, 'package', '--stage', 'dev', '--package', dir], {
      cwd: projectRoot,
      env,
      maxBuffer: 32 * 1024 * 1024,
    });
    mkdirSync(dir, { recursive: true });
    writeFileSync(done, new Date().toISOString());
  }
  const deadline = Date.now() + 240_000;
  while (!existsSync(done)) {
    if (Date.now() > deadline) throw new Error('packaging did not finish');
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return JSON.parse(
    readFileSync(path.join(dir, 'cloudformation-template-update-stack.json'), 'utf8'),
  ) as CfnTemplate;
}

export function resourcesOfType(template: CfnTemplate, type: string) {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}
