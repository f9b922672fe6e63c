import { NotFoundError } from '../lib/errors';
import { publicRoute } from '../lib/http/handler';

// Catch-all route: API Gateway would otherwise answer unknown paths with its own 403 body.
export const handler = publicRoute(
  async (request) => {
    throw new NotFoundError(`No route for ${request.method} ${request.path}`);
  },
  { body: 'none' },
);
