import http from 'node:http';
import { type ConsoleFiles, serveConsole } from './console-files';

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

// What API Gateway answers with the DEFAULT_4XX / DEFAULT_5XX gateway responses declared in
// serverless.yml (serverless-offline ignores GatewayResponse resources).
const gatewayErrors: Record<number, { code: string; message: string }> = {
  401: { code: 'UNAUTHORIZED', message: 'Unauthorized' },
  403: { code: 'ACCESS_DENIED', message: 'User is not authorized to access this resource' },
  404: { code: 'RESOURCE_NOT_FOUND', message: 'Not found' },
  413: { code: 'REQUEST_TOO_LARGE', message: 'Request too large' },
  429: { code: 'THROTTLED', message: 'Too many requests' },
  502: { code: 'BAD_GATEWAY', message: 'Internal server error' },
  504: { code: 'INTEGRATION_TIMEOUT', message: 'Endpoint request timed out' },
};

function gatewayError(status: number) {
  const known = gatewayErrors[status];
  if (known) return { error: known };
  return status >= 500
    ? { error: { code: 'DEFAULT_5XX', message: 'Internal server error' } }
    : { error: { code: 'DEFAULT_4XX', message: 'Bad request' } };
}

/**
 * The front door of the local API: forwards to `serverless offline`, which listens on an internal port.
 * It exists so that a shutdown can stop accepting requests first while the functions keep running to
 * drain the queue, which serverless-offline cannot do on its own.
 */
export async function startGateway(
  port: number,
  upstreamPort: number,
  host = '127.0.0.1',
  consoleFiles?: ConsoleFiles,
): Promise<Gateway> {
  // A fresh upstream connection per request: reusing idle keep-alive sockets races with serverless
  // offline closing them (a reset request). On loopback a connection costs well under a millisecond.
  const agent = new http.Agent({ keepAlive: false });
  const server = http.createServer((request, response) => {
    // The web console is served at the API's origin (as CloudFront does in AWS): one origin, no CORS.
    if (consoleFiles && serveConsole(consoleFiles, request, response)) return;
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
        const status = upstreamResponse.statusCode ?? 502;
        // Our functions always answer with their security headers; an error without them was made by
        // serverless-offline itself (authorizer denial, body too large, handler crash).
        if (status >= 400 && !upstreamResponse.headers['x-content-type-options']) {
          upstreamResponse.resume();
          response.writeHead(status, securityHeaders);
          response.end(JSON.stringify(gatewayError(status)));
          return;
        }
        response.writeHead(status, upstreamResponse.headers);
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
  // Longer than clients' idle keep-alive (undici: 4 s), so the server never closes a connection a
  // client is about to reuse.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
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
