import type { APIGatewayProxyResult } from 'aws-lambda';
import { publicRoute } from '../../src/lib/http/handler';

// The bench's measure of the middleware stack's warm per-request cost: the same no-op route with and
// without the wrapper every HTTP function uses (logger context, AWS call timings, metrics, errors).
const noop = async (): Promise<APIGatewayProxyResult> => ({ statusCode: 200, body: '{}' });

export const wrapped = publicRoute(noop, { body: 'none' });
export const bare = noop;
