import http from 'node:http';
import gatewayResponses from '../../infra/gateway-responses.json';
import {
  type ContentCoding,
  contentCoding,
  type InflateResult,
  inflateBody,
} from '../../src/lib/http/content-encoding';
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

// What API Gateway answers with its GatewayResponses (infra/gateway-responses.json; serverless-offline
// ignores GatewayResponse resources), by status: the same codes and messages as in AWS.
const byStatus = new Map<number, { code: string; message: string }>();
for (const { status, code, message } of gatewayResponses.responses)
  if (status !== undefined && !byStatus.has(status)) byStatus.set(status, { code, message });
const fallback = (status: number) =>
  gatewayResponses.responses.find(
    (response) => response.type === (status >= 500 ? 'DEFAULT_5XX' : 'DEFAULT_4XX'),
  );

function gatewayError(status: number) {
  const known = byStatus.get(status) ?? fallback(status);
  return {
    error: { code: known?.code ?? 'InternalError', message: known?.message ?? 'Internal server error' },
  };
}

const loopbackClient = (address: string | undefined) =>
  address && /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address) ? address : undefined;

/** API Gateway's limits, which serverless-offline does not apply: a 10 MB request, 29 s to answer. */
export const API_GATEWAY_MAX_REQUEST_BYTES = 10 * 1024 * 1024;
export const API_GATEWAY_TIMEOUT_MS = 29_000;

class WireLimitReached extends Error {}

/**
 * A compressed body decoded the way API Gateway does before the integration: the wire bytes within
 * its 10 MB, and the decoded bytes too (the cap that keeps a decompression bomb from filling memory;
 * the functions then apply their own, smaller limit to the decoded body). A coding it cannot decode,
 * or a body not in the coding it names, is a 415 there.
 */
async function decodeThenForward(
  request: http.IncomingMessage,
  coding: ContentCoding,
): Promise<InflateResult> {
  let wire = 0;
  // Not destroyed when decoding stops early: the client still gets its answer.
  const source = request.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>;
  async function* wireBytes() {
    for await (const chunk of source) {
      wire += chunk.length;
      if (wire > API_GATEWAY_MAX_REQUEST_BYTES) throw new WireLimitReached();
      yield chunk;
    }
  }
  try {
    return await inflateBody(wireBytes(), coding, API_GATEWAY_MAX_REQUEST_BYTES);
  } catch (error) {
    if (error instanceof WireLimitReached) return { ok: false, reason: 'too-large', inflated: 0 };
    throw error;
  }
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
    const refuse = (status: number) => {
      if (response.headersSent) return response.destroy();
      response.writeHead(status, { ...securityHeaders, connection: 'close' });
      response.end(JSON.stringify(gatewayError(status)));
    };
    // A refused body is read to its end (up to a bound) before the answer, so the client that is still
    // sending gets it instead of a broken pipe.
    let discarded = 0;
    const refuseAfterBody = (status: number) => {
      if (request.readableEnded) return refuse(status);
      request.on('data', (chunk: Buffer) => {
        discarded += chunk.length;
        if (discarded > 4 * API_GATEWAY_MAX_REQUEST_BYTES) request.destroy();
      });
      request.once('end', () => refuse(status));
      request.resume();
    };
    if (Number(request.headers['content-length'] ?? 0) > API_GATEWAY_MAX_REQUEST_BYTES)
      return refuseAfterBody(413);
    // The web console is served at the API's origin (as CloudFront does in AWS): one origin, no CORS.
    if (consoleFiles && serveConsole(consoleFiles, request, response)) return;

    let oversize = false;
    const forward = (headers: http.IncomingHttpHeaders, decoded?: Buffer) => {
      const upstream = http.request(
        {
          host: '127.0.0.1',
          port: upstreamPort,
          method: request.method,
          path: request.url,
          headers,
          agent,
          // API Gateway hands functions the client's address (requestContext.identity.sourceIp), which
          // serverless offline takes from its own connection: make that connection come from the
          // client's loopback address (any of 127.0.0.0/8), so per-address limits see distinct clients.
          localAddress: loopbackClient(request.socket.remoteAddress),
        },
        (upstreamResponse) => {
          clearTimeout(timeout);
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
        clearTimeout(timeout);
        // Destroyed on purpose: the 413 is on its way.
        if (oversize) return;
        if (response.headersSent) return response.destroy();
        response.writeHead(502, securityHeaders);
        response.end(
          JSON.stringify({ error: { code: 'BadGateway', message: 'The local API is not available' } }),
        );
      });
      const timeout = setTimeout(() => {
        upstream.destroy();
        refuse(504);
      }, API_GATEWAY_TIMEOUT_MS);
      if (decoded) return upstream.end(decoded);
      // A body without Content-Length (chunked) is counted as it streams.
      let received = 0;
      request.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > API_GATEWAY_MAX_REQUEST_BYTES && !oversize) {
          oversize = true;
          clearTimeout(timeout);
          request.unpipe(upstream);
          upstream.destroy();
          refuseAfterBody(413);
        }
      });
      request.pipe(upstream);
    };

    const hasBody =
      Number(request.headers['content-length'] ?? 0) > 0 || 'transfer-encoding' in request.headers;
    const coding = hasBody ? contentCoding(request.headers['content-encoding']) : undefined;
    if (coding === undefined) return forward(request.headers);
    if (coding === 'unsupported') return refuseAfterBody(415);
    decodeThenForward(request, coding).then(
      (result) => {
        if (result.ok) {
          // As API Gateway does: the integration gets the decoded body, the Content-Encoding header kept.
          const { 'transfer-encoding': _chunked, ...headers } = request.headers;
          forward({ ...headers, 'content-length': String(result.body.length) }, result.body);
        } else refuseAfterBody(result.reason === 'corrupt' ? 415 : 413);
      },
      () => refuse(502),
    );
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
