// `npm run invoke -- FUNCTION EVENT_FILE`: `serverless invoke local` of one function with an events/
// fixture, against the emulators of the running `npm run dev` (found through its stack file, so its
// ports and data directory, whatever they are).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { localCredentials, localRegion } from './local/aws-local';
import { loadLocalEnvFile } from './local/env-file';
import { assertProjectNode } from './local/runtime';
import { projectRoot, quietSlsEnv, slsBin } from './local/service-config';
import { localDataDir, NoRunningStackError, type RunningStack, runningStack } from './local/stack-file';

assertProjectNode();
loadLocalEnvFile(projectRoot);
const [functionKey, eventFile] = process.argv.slice(2);
if (!functionKey || !eventFile) {
  console.error(
    'usage: npm run invoke -- <function> <event file>   e.g. npm run invoke -- health events/health.json',
  );
  process.exit(2);
}
const dataDir = localDataDir();
let stack: RunningStack;
try {
  stack = runningStack(dataDir);
} catch (error) {
  if (!(error instanceof NoRunningStackError)) throw error;
  console.error(error.message);
  process.exit(1);
}
const tokenFile = path.join(dataDir, 'admin-token');
const adminToken =
  process.env.ADMIN_TOKEN ?? (existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : undefined);
if (!adminToken) {
  console.error(`No admin token: ${tokenFile} is missing and ADMIN_TOKEN is not set.`);
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  [slsBin, 'invoke', 'local', '--stage', stack.stage, '--function', functionKey, '--path', eventFile],
  {
    cwd: projectRoot,
    stdio: 'inherit',
    env: {
      ...process.env,
      ...quietSlsEnv,
      AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
      AWS_REGION: localRegion,
      AWS_ENDPOINT_URL_DYNAMODB: stack.urls.dynamodb,
      AWS_ENDPOINT_URL_SQS: stack.urls.sqs,
      AWS_ENDPOINT_URL_S3: stack.urls.s3,
      LOCAL_MASTER_KEY_FILE: stack.masterKeyFile,
      LOCAL_ALERTS_FILE: stack.alertsFile,
      ADMIN_TOKEN: adminToken,
    },
  },
);
process.exit(result.status ?? 1);
