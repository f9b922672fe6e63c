import { existsSync } from 'node:fs';
import path from 'node:path';

// Local overrides for `npm run dev`, `npm run invoke` and `npm run job`: KEY=value lines in `.env` at
// the project root (or the file SENSORCLOUD_ENV_FILE names). Variables already set in the environment
// win. The serverless processes these scripts start inherit the result; tests and deploys never read it.
export function loadLocalEnvFile(root: string): string | undefined {
  const file = path.resolve(root, process.env.SENSORCLOUD_ENV_FILE ?? '.env');
  if (!existsSync(file)) return undefined;
  process.loadEnvFile(file);
  return file;
}
