// The only errors whose message reaches a client. Anything else is an internal error and is
// answered with a generic 500 (details go to the log, never to the caller).
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(400, 'ValidationError', message, details);
  }
}

// 400 rather than 413: the readings API answers every unacceptable body with 400 (its contract).
export class PayloadTooLargeError extends AppError {
  constructor(message: string) {
    super(400, 'PayloadTooLarge', message);
  }
}

export class AuthError extends AppError {
  constructor(message = 'Missing or invalid credentials') {
    super(401, 'Unauthorized', message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'Not allowed') {
    super(403, 'Forbidden', message);
  }
}

export class NotFoundError extends AppError {
  constructor(message = 'Not found') {
    super(404, 'NotFound', message);
  }
}

export class ConflictError extends AppError {
  constructor(message: string) {
    super(409, 'Conflict', message);
  }
}

export class UnavailableError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(503, 'ServiceUnavailable', message, details);
  }
}

export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

export function toErrorBody(error: unknown): { status: number; body: ErrorBody } {
  if (error instanceof AppError) {
    const body: ErrorBody = { error: { code: error.code, message: error.message } };
    if (error.details) body.error.details = error.details;
    return { status: error.status, body };
  }
  return { status: 500, body: { error: { code: 'InternalError', message: 'Internal server error' } } };
}
