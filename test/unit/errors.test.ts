import {
  AuthError,
  ContentTooLargeError,
  ForbiddenError,
  NotFoundError,
  toErrorBody,
  ValidationError,
} from '../../src/lib/errors';

describe('toErrorBody', () => {
  it.each([
    [new ValidationError('data: required', { field: 'data' }), 400, 'ValidationError'],
    [new AuthError(), 401, 'Unauthorized'],
    [new ForbiddenError(), 403, 'Forbidden'],
    [new NotFoundError(), 404, 'NotFound'],
    [new ContentTooLargeError('over 4 MiB'), 413, 'ContentTooLarge'],
  ])('maps %p to its status and code', (error, status, code) => {
    const mapped = toErrorBody(error);
    expect(mapped.status).toBe(status);
    expect(mapped.body.error.code).toBe(code);
    expect(mapped.body.error.message).toBe(error.message);
  });

  it('never exposes the message or stack of an unexpected error', () => {
    const mapped = toErrorBody(new Error('connect ECONNREFUSED 10.0.0.1:5432 at secret-host'));
    expect(mapped).toEqual({
      status: 500,
      body: { error: { code: 'InternalError', message: 'Internal server error' } },
    });
  });
});
