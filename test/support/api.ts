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
  const response = await fetch(`${apiUrl()}${path}`, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // Left as text: the assertion on it will say what came back.
  }
  return { status: response.status, headers: response.headers, body: parsed as T, text };
}
