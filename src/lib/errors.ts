// The only errors whose message reaches a client. Anything else is an internal error and is
// answered with a generic 500 (details go to the log, never to the caller).

/**
 * Every `error.code` the API answers with, from the handlers and from API Gateway's own responses
 * (infra/resources/security.yml, scripts/local/gateway.ts): one vocabulary, checked by the tests.
 */
export const ErrorCode = {
  ValidationError: 'ValidationError',
  PayloadTooLarge: 'PayloadTooLarge',
  Unauthorized: 'Unauthorized',
  Forbidden: 'Forbidden',
  NotFound: 'NotFound',
  Conflict: 'Conflict',
  UnsupportedMediaType: 'UnsupportedMediaType',
  /** A response would exceed what Lambda can return (image content over 4 MiB). */
  ContentTooLarge: 'ContentTooLarge',
  TooManyRequests: 'TooManyRequests',
  InternalError: 'InternalError',
  BadGateway: 'BadGateway',
  ServiceUnavailable: 'ServiceUnavailable',
  GatewayTimeout: 'GatewayTimeout',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    /** Seconds after which a retry may succeed (sent as `Retry-After`). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(400, ErrorCode.ValidationError, message, details);
  }
}

// 400 by default: the readings API answers every unacceptable body with 400 (its contract). A
// compressed body too large once decoded is a 413, like API Gateway's own answer to an oversize request
// (clients that compress are new clients, not bound by the original contract).
export class PayloadTooLargeError extends AppError {
  constructor(message: string, status: 400 | 413 = 400) {
    super(status, ErrorCode.PayloadTooLarge, message);
  }
}

export class AuthError extends AppError {
  constructor(message = 'Missing or invalid credentials') {
    super(401, ErrorCode.Unauthorized, message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'Not allowed') {
    super(403, ErrorCode.Forbidden, message);
  }
}

export class NotFoundError extends AppError {
  constructor(message = 'Not found') {
    super(404, ErrorCode.NotFound, message);
  }
}

export class ConflictError extends AppError {
  constructor(message: string, retryAfterSeconds?: number) {
    super(409, ErrorCode.Conflict, message, undefined, retryAfterSeconds);
  }
}

export class ContentTooLargeError extends AppError {
  constructor(message: string) {
    super(413, ErrorCode.ContentTooLarge, message);
  }
}

export class UnsupportedMediaTypeError extends AppError {
  constructor(message: string) {
    super(415, ErrorCode.UnsupportedMediaType, message);
  }
}

export class TooManyRequestsError extends AppError {
  constructor(message: string, retryAfterSeconds: number) {
    super(429, ErrorCode.TooManyRequests, message, undefined, retryAfterSeconds);
  }
}

/** A dependency failed in a way a retry can fix (throttling, timeouts, not yet visible): 503. */
export class UnavailableError extends AppError {
  constructor(message: string, details?: Record<string, unknown>, retryAfterSeconds = 1) {
    super(503, ErrorCode.ServiceUnavailable, message, details, retryAfterSeconds);
  }
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: Record<string, unknown> };
}

export function toErrorBody(error: unknown): {
  status: number;
  body: ErrorBody;
  retryAfterSeconds?: number;
} {
  if (error instanceof AppError) {
    const body: ErrorBody = { error: { code: error.code, message: error.message } };
    if (error.details) body.error.details = error.details;
    return error.retryAfterSeconds === undefined
      ? { status: error.status, body }
      : { status: error.status, body, retryAfterSeconds: error.retryAfterSeconds };
  }
  return {
    status: 500,
    body: { error: { code: ErrorCode.InternalError, message: 'Internal server error' } },
  };
}
