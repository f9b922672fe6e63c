import http from 'node:http';

export interface Gateway {
  url: string;
  /** Stops accepting connections and waits (bounded) for requests in flight. */
  close(timeoutMs: number): Promise<void>;
}

const securityHeaders = {
  'content-type': 'application/json; charset=utf-8',
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
};

/**
 * The front door of the local API: forwards to `serverless offline`, which listens on an internal port.
 * It exists so that a shutdown can stop accepting requests first while the functions keep running to
 * drain the queue, which serverless-offline cannot do on its own.
 */
export async function startGateway(port: number, upstreamPort: number, host = '127.0.0.1'): Promise<Gateway> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const server = http.createServer((request, response) => {
    const upstream = http.request(
      {
        host: '127.0.0.1',
        port: upstreamPort,
        method: request.method,
        path: request.url,
        headers: request.headers,
        agent,
      },
      (upstreamResponse) => {
        response.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
        upstreamResponse.pipe(response);
      },
    );
    upstream.on('error', () => {
      if (response.headersSent) return response.destroy();
      response.writeHead(502, securityHeaders);
      response.end(
        JSON.stringify({ error: { code: 'BadGateway', message: 'The local API is not available' } }),
      );
    });
    request.pipe(upstream);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host }, () => resolve());
  });
  return {
    url: `http://${host === '127.0.0.1' ? 'localhost' : host}:${port}`,
    close: (timeoutMs) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.closeAllConnections();
          resolve();
        }, timeoutMs);
        server.close(() => {
          clearTimeout(timer);
          agent.destroy();
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
