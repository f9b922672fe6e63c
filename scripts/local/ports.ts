import net from 'node:net';

/** Fails fast with a clear message when a port is taken, instead of a child process hanging on it. */
export async function assertPortFree(port: number, what: string, host = '127.0.0.1'): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        new Error(
          error.code === 'EADDRINUSE'
            ? `Port ${port} (${what}) is already in use. Stop whatever listens there, or choose another port (see README: environment variables).`
            : `Cannot listen on port ${port} (${what}): ${error.message}`,
        ),
      );
    });
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve()));
  });
}

/** A port the OS considers free right now (tests run every service on such ports). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1' }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** One free port for each service of the local stack (tests and measurements run beside `npm run dev`). */
export async function freePorts(): Promise<{
  api: number;
  dynamodb: number;
  sqs: number;
  s3: number;
  lambda: number;
}> {
  return {
    api: await freePort(),
    dynamodb: await freePort(),
    sqs: await freePort(),
    s3: await freePort(),
    lambda: await freePort(),
  };
}

export async function waitFor<T>(
  what: string,
  attempt: () => Promise<T>,
  { timeoutMs = 30_000, intervalMs = 100 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      return await attempt();
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
  throw new Error(
    `${what} did not become ready within ${timeoutMs} ms: ${(lastError as Error)?.message ?? ''}`,
  );
}
