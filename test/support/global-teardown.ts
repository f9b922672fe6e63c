import type { WriteStream } from 'node:fs';
import type { LocalStack } from '../../scripts/local/stack';

export default async function globalTeardown(): Promise<void> {
  const globals = globalThis as { __sensorcloudStack?: LocalStack; __sensorcloudLog?: WriteStream };
  await globals.__sensorcloudStack?.stop({ drainTimeoutMs: 5_000 });
  globals.__sensorcloudLog?.end();
}
