import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';

// Local overrides for `npm run dev`, `npm run invoke` and `npm run job`: KEY=value lines in `.env` at
// the project root (or the file SENSORCLOUD_ENV_FILE names). Variables already set in the environment
// win. The serverless processes these scripts start inherit the result; tests and deploys never read it.
export function loadLocalEnvFile(root: string): string | undefined {
  const file = path.resolve(root, process.env.SENSORCLOUD_ENV_FILE ?? '.env');
  if (!existsSync(file)) return undefined;
  for (const [name, value] of Object.entries(parseEnv(readFileSync(file, 'utf8')))) {
    if (process.env[name] === undefined && value !== undefined) process.env[name] = value;
  }
  return file;
}
