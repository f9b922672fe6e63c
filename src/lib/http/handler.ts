import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { isTransient } from '../aws/retry';
import { config } from '../config';
import { AppError, PayloadTooLargeError, UnavailableError, UnsupportedMediaTypeError } from '../errors';
import { logger } from '../logger';
import { countWith, MetricName, observability } from '../observability';
import { contentCoding, inflateBody, looksEncoded } from './content-encoding';
import { parseJsonBody } from './json-body';
import { type Principal, principalFrom } from './principal';
import { errorResponse } from './response';

export interface HttpRequest {
  method: string;
  path: string;
  /** The route template, e.g. `/api/devices/{deviceId}`. */
  resource: string;
  /** Parsed JSON body; undefined when the request had none. */
  body: unknown;
  /** The body's bytes, for routes that take binary uploads. */
  rawBody: Buffer | undefined;
  /**
   * The body arrived base64-encoded, i.e. API Gateway treated its Content-Type as binary. When false,
   * non-UTF-8 bytes have already been replaced (serverless-offline does this for every type but
   * application/octet-stream and multipart/form-data).
   */
  binaryBody: boolean;
  pathParameters: Record<string, string>;
  query: Record<string, string>;
  /** Header names lower-cased. */
  headers: Record<string, string>;
  requestId: string;
  /** The caller's address as API Gateway saw it (what rate limits of public routes count by). */
  sourceIp: string;
}

export interface AuthenticatedRequest extends HttpRequest {
  principal: Principal;
}

interface Options {
  /** 'json' parses the body; 'binary' hands over the bytes; 'none' ignores it. */
  body?: 'json' | 'binary' | 'none';
  maxBodyBytes?: number;
}

type Route<R extends HttpRequest> = (request: R) => Promise<APIGatewayProxyResult>;

function compact(record: Record<string, string | undefined> | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(record ?? {})) if (value !== undefined) out[key] = value;
  return out;
}

/**
 * The body as the route should see it. With a Content-Encoding, every limit applies to the decoded
 * bytes: API Gateway hands over the body already decoded (the header still set); a body still in its
 * coding (a direct invoke) is decoded here, stopping at the limit.
 */
async function decodedBody(
  rawBody: Buffer | undefined,
  encodingHeader: string | undefined,
  maxBytes: number,
): Promise<Buffer | undefined> {
  const coding = contentCoding(encodingHeader);
  if (coding === 'unsupported') {
    throw new UnsupportedMediaTypeError(
      'Content-Encoding: only gzip, deflate or identity, one layer (the body is decoded once)',
    );
  }
  if (!rawBody) return undefined;
  if (coding === undefined) {
    if (rawBody.length > maxBytes)
      throw new PayloadTooLargeError(`Request body is ${rawBody.length} bytes; the limit is ${maxBytes}`);
    return rawBody;
  }
  const tooLarge = () =>
    new PayloadTooLargeError(
      `Request body is over ${maxBytes} bytes once decoded; the limit is ${maxBytes}`,
      413,
    );
  if (!looksEncoded(rawBody, coding)) {
    if (rawBody.length > maxBytes) throw tooLarge();
    return rawBody;
  }
  const inflated = await inflateBody([rawBody], coding, maxBytes);
  if (inflated.ok) return inflated.body;
  if (inflated.reason === 'too-large') throw tooLarge();
  throw new UnsupportedMediaTypeError(`Request body is not valid ${coding} data`);
}

async function toRequest(event: APIGatewayProxyEvent, options: Options): Promise<HttpRequest> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined) headers[name.toLowerCase()] = value;
  }
  const mode = options.body ?? 'json';
  const received =
    event.body === null || event.body === undefined || event.body === ''
      ? undefined
      : Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
  const maxBytes = options.maxBodyBytes ?? config.MAX_BODY_BYTES;
  const rawBody =
    mode === 'none' ? undefined : await decodedBody(received, headers['content-encoding'], maxBytes);
  const body = mode === 'json' && rawBody ? parseJsonBody(rawBody.toString('utf8')) : undefined;
  return {
    method: event.httpMethod,
    path: event.path,
    resource: event.resource,
    body,
    rawBody,
    binaryBody: event.isBase64Encoded === true,
    pathParameters: compact(event.pathParameters),
    query: compact(event.queryStringParameters),
    headers,
    requestId: event.requestContext?.requestId ?? 'unknown',
    sourceIp: event.requestContext?.identity?.sourceIp || 'unknown',
  };
}

/** Request metrics per function: the ingest 5xx-rate alarm divides Failed by Requests. */
function countResponse(status: number, functionName: string): void {
  const dimensions = { function: functionName };
  countWith(MetricName.Requests, dimensions);
  if (status >= 500) countWith(MetricName.Failed, dimensions);
  else if (status >= 400) countWith(MetricName.Rejected, dimensions);
}

function wrap(route: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>) {
  return middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context>()
    .use(observability())
    .before(async (request) => {
      logger.appendKeys({
        correlationId: request.event.requestContext?.requestId,
        route: `${request.event.httpMethod} ${request.event.resource}`,
      });
    })
    .handler(async (event, context) => {
      let response: APIGatewayProxyResult;
      try {
        response = await route(event);
      } catch (caught) {
        // A dependency that is throttling or timing out is a reason to retry, not an internal error.
        const error =
          !(caught instanceof AppError) && isTransient(caught)
            ? new UnavailableError('A dependency is busy; retry the request')
            : caught;
        const handled = errorResponse(error);
        response = handled.response;
        if (response.statusCode >= 500) logger.error('request failed', { error: caught as Error });
        else logger.info('request rejected', { status: response.statusCode, code: handled.body.error.code });
      }
      countResponse(response.statusCode, context.functionName);
      return response;
    });
}

/** A route open to anyone (/health, the not-found fallback, and /api/provision whose key is checked by its handler). */
export function publicRoute(route: Route<HttpRequest>, options: Options = {}) {
  return wrap(async (event) => route(await toRequest(event, options)));
}

/** A route behind the Lambda authorizer: the principal it established comes with the request. */
export function authenticatedRoute(route: Route<AuthenticatedRequest>, options: Options = {}) {
  return wrap(async (event) => {
    // Authenticate before touching the body, so an anonymous caller learns nothing about validation.
    const principal = principalFrom(event.requestContext?.authorizer);
    if (principal.role === 'device') logger.appendKeys({ deviceId: principal.deviceId });
    return route({ ...(await toRequest(event, options)), principal });
  });
}
