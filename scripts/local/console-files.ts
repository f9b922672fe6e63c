import { createReadStream, existsSync, statSync } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';

// The console's pages (client-side routes): a reload or a bookmark of any of them gets index.html.
// Any other path goes on to the API, so unknown routes keep their JSON 404. (Kept equal to the
// CloudFront function's list in infra/resources/console.yml by test/package/console-template.test.ts.)
export const PAGE_PATHS =
  /^\/(?:|signin|devices(?:\/[^/]+)?|readings|images(?:\/[^/]+)?|provisioning|cache|audit|stats)\/?$/;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** The console's Content-Security-Policy: its own scripts and styles only, no inline code, no eval. */
export function consoleCsp(extraConnectOrigins: string[] = []): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    // blob: the gallery shows image bytes fetched with the Authorization header.
    "img-src 'self' blob:",
    // The extra origins: the images bucket, which presigned uploads go to.
    `connect-src 'self' ${extraConnectOrigins.join(' ')}`.trim(),
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export const consolePageHeaders = (csp: string): Record<string, string> => ({
  'content-security-policy': csp,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
});

export interface ConsoleFiles {
  dir: string;
  /** Origins the console may connect to besides its own (presigned uploads). */
  connectOrigins: string[];
  /** Live reload: clients listening on /__console/events are told when to reload. */
  liveReload?: { subscribe(listener: () => void): () => void };
}

/** Serves the built console for GET/HEAD of its pages and assets; returns false for anything else. */
export function serveConsole(
  files: ConsoleFiles,
  request: http.IncomingMessage,
  response: http.ServerResponse,
): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  const pathname = new URL(request.url ?? '/', 'http://localhost').pathname;
  const headers = consolePageHeaders(consoleCsp(files.connectOrigins));
  if (pathname === '/__console/events' && files.liveReload) {
    response.writeHead(200, { ...headers, 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
    response.write(': connected\n\n');
    const unsubscribe = files.liveReload.subscribe(() => response.write('event: rebuilt\ndata: \n\n'));
    request.on('close', unsubscribe);
    return true;
  }
  let file: string;
  let cacheControl: string;
  // Pages go to browsers (which ask for HTML); API clients asking `/` for JSON keep the API's 404.
  if (PAGE_PATHS.test(pathname) && (request.headers.accept ?? '').includes('text/html')) {
    file = path.join(files.dir, 'index.html');
    cacheControl = 'no-cache';
  } else if (/^\/assets\/[A-Za-z0-9._-]+$/.test(pathname)) {
    file = path.join(files.dir, pathname);
    // Hashed names never change content; the others (favicon, live-reload) are revalidated.
    cacheControl = /-[A-Z0-9]{8}\.(js|css)$/.test(pathname)
      ? 'public, max-age=31536000, immutable'
      : 'no-cache';
  } else return false;
  if (!existsSync(file) || !statSync(file).isFile()) return false;
  response.writeHead(200, {
    ...headers,
    'content-type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
    'cache-control': cacheControl,
  });
  if (request.method === 'HEAD') response.end();
  else createReadStream(file).pipe(response);
  return true;
}
