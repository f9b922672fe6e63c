// `npm run invoke -- FUNCTION EVENT_FILE`: `serverless invoke local` of one function with an events/
// fixture, against the emulators of a running `npm run dev` (same ports and data directory).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { localCredentials, localRegion } from './local/aws-local';
import { loadLocalEnvFile } from './local/env-file';
import { assertProjectNode } from './local/runtime';
import { projectRoot, quietSlsEnv, slsBin } from './local/service-config';

assertProjectNode();
loadLocalEnvFile(projectRoot);
const [functionKey, eventFile] = process.argv.slice(2);
if (!functionKey || !eventFile) {
  console.error(
    'usage: npm run invoke -- <function> <event file>   e.g. npm run invoke -- health events/health.json',
  );
  process.exit(2);
}
const dataDir = path.resolve(process.env.SENSORCLOUD_DATA_DIR ?? path.join(projectRoot, '.local'));
const tokenFile = path.join(dataDir, 'admin-token');
if (!existsSync(tokenFile) && !process.env.ADMIN_TOKEN) {
  console.error('No local stack data found: start it once with `npm run dev`.');
  process.exit(1);
}
const port = (name: string, fallback: number) => process.env[name] ?? String(fallback);
const result = spawnSync(
  process.execPath,
  [slsBin, 'invoke', 'local', '--stage', 'local', '--function', functionKey, '--path', eventFile],
  {
    cwd: projectRoot,
    stdio: 'inherit',
    env: {
      ...process.env,
      ...quietSlsEnv,
      AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
      AWS_REGION: localRegion,
      AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${port('DYNAMODB_PORT', 8000)}`,
      AWS_ENDPOINT_URL_SQS: `http://127.0.0.1:${port('SQS_PORT', 9324)}`,
      AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port('S3_PORT', 4569)}`,
      LOCAL_MASTER_KEY_FILE: path.join(dataDir, 'master.key'),
      ADMIN_TOKEN: process.env.ADMIN_TOKEN ?? readFileSync(tokenFile, 'utf8').trim(),
    },
  },
);
process.exit(result.status ?? 1);
