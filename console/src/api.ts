// Every call to the API goes through here: the caller's token as a Bearer header, JSON in and out,
// and the API's `{"error":{"code","message"}}` turned into an ApiError with a readable message.
import type { Session } from './session';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface Page<T> {
  data: T[];
  next?: string;
}

const STATUS_MESSAGES: Record<number, string> = {
  401: 'Your token was not accepted. Sign in again.',
  403: 'You are not allowed to do this.',
  404: 'Not found.',
  429: 'Too many requests: wait a moment and try again.',
};

async function errorOf(response: Response): Promise<ApiError> {
  let code = `HTTP_${response.status}`;
  let message = STATUS_MESSAGES[response.status] ?? `The API answered ${response.status}.`;
  try {
    const body = (await response.json()) as { error?: { code?: unknown; message?: unknown } };
    if (typeof body.error?.code === 'string') code = body.error.code;
    if (typeof body.error?.message === 'string' && body.error.message) message = body.error.message;
  } catch {
    // Not JSON: the status message stands.
  }
  return new ApiError(response.status, code, message);
}

export type Query = Record<string, string | number | undefined>;

export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, String(value));
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

export async function request<T>(
  token: string,
  method: string,
  path: string,
  options: { body?: unknown; query?: Query; signal?: AbortSignal; retry?: boolean } = {},
): Promise<T> {
  const retry = options.retry ?? true;
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(withQuery(path, options.query), {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError(0, 'NETWORK', 'The API could not be reached. Check your connection and try again.');
  }
  // A read that met a gateway timeout (typically a cold start) is tried once more: it changes nothing.
  if (method === 'GET' && retry && response.status >= 502 && response.status <= 504) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    return request<T>(token, method, path, { ...options, retry: false });
  }
  if (!response.ok) throw await errorOf(response);
  return (await response.json()) as T;
}

/** Bytes of an authenticated resource (image content) as a blob: URL the page may show. */
export async function requestBlobUrl(token: string, path: string, signal?: AbortSignal): Promise<string> {
  for (let attempt = 1; ; attempt += 1) {
    const response = await fetch(path, {
      // An image/* Accept makes API Gateway hand the bytes back as binary (binaryMediaTypes).
      headers: { authorization: `Bearer ${token}`, accept: 'image/*' },
      signal,
      credentials: 'omit',
    });
    if (response.ok) return URL.createObjectURL(await response.blob());
    // A gallery asks for many images at once: a gateway timeout (a cold start) is worth one more try.
    if (attempt < 2 && response.status >= 502 && response.status <= 504) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      continue;
    }
    throw await errorOf(response);
  }
}

export const api = (session: Pick<Session, 'token'>) => ({
  get: <T>(path: string, query?: Query, signal?: AbortSignal) =>
    request<T>(session.token, 'GET', path, { query, signal }),
  post: <T>(path: string, body?: unknown, query?: Query) =>
    request<T>(session.token, 'POST', path, { body, query }),
  put: <T>(path: string, body?: unknown) => request<T>(session.token, 'PUT', path, { body }),
  delete: <T>(path: string) => request<T>(session.token, 'DELETE', path),
});

export type Api = ReturnType<typeof api>;

export const messageOf = (error: unknown): string =>
  error instanceof Error ? error.message : 'Something went wrong.';
