import type { APIGatewayProxyResult } from 'aws-lambda';
import { type ErrorBody, toErrorBody } from '../errors';

// Sent with every API response: the API serves JSON to machines, never anything a browser should
// render, frame or cache.
export const securityHeaders: Readonly<Record<string, string>> = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=63072000; includeSubDomains',
};

export function json(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyResult {
  return { statusCode: status, headers: { ...securityHeaders, ...headers }, body: JSON.stringify(body) };
}

export function errorResponse(error: unknown): { response: APIGatewayProxyResult; body: ErrorBody } {
  const { status, body, retryAfterSeconds } = toErrorBody(error);
  const headers: Record<string, string> =
    retryAfterSeconds === undefined
      ? {}
      : { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) };
  return { response: json(status, body, headers), body };
}

/**
 * Bytes (image content): base64 with isBase64Encoded, which API Gateway turns back into binary when
 * the response's type is in binaryMediaTypes and the request accepts it (serverless-offline always).
 * Private: cached by the browser only, never by shared caches, since it depends on the caller.
 */
export function binary(
  body: Buffer,
  contentType: string,
  headers: Record<string, string> = {},
): APIGatewayProxyResult {
  return {
    statusCode: 200,
    headers: {
      ...securityHeaders,
      'content-type': contentType,
      'cache-control': 'private, max-age=300',
      vary: 'Authorization',
      ...headers,
    },
    body: body.toString('base64'),
    isBase64Encoded: true,
  };
}
