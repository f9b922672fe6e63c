import http from 'node:http';

/** HTTP helpers for tests that go through the local API (gateway → serverless offline → handlers). */
export const apiUrl = () => process.env.SENSORCLOUD_API_URL as string;
export const adminToken = () => process.env.SENSORCLOUD_ADMIN_TOKEN as string;

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export async function api<T = unknown>(
  method: string,
  path: string,
  options: {
    body?: unknown;
    rawBody?: string | Buffer;
    token?: string;
    headers?: Record<string, string>;
    /**
     * Connect from this loopback address (127.x.y.z): the local gateway passes it on, so the function
     * sees it as the caller's source IP, as API Gateway would show a distinct client.
     */
    sourceIp?: string;
  } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | Buffer | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = options.sourceIp
    ? await requestFrom(options.sourceIp, method, `${apiUrl()}${path}`, headers, body)
    : await fetch(`${apiUrl()}${path}`, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // Left as text: the assertion on it will say what came back.
  }
  return { status: response.status, headers: response.headers, body: parsed as T, text };
}

/** fetch cannot choose its local address: the same request through node:http, answered as a Response. */
function requestFrom(
  localAddress: string,
  method: string,
  url: string,
  headers: Record<string, string>,
  body: string | Buffer | undefined,
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method, headers, localAddress }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(response.headers))
          if (typeof value === 'string') responseHeaders.set(name, value);
        resolve(
          new Response(Buffer.concat(chunks), { status: response.statusCode, headers: responseHeaders }),
        );
      });
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(body);
  });
}
