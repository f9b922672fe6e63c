import middy from '@middy/core';
import type { APIGatewayAuthorizerResult, APIGatewayTokenAuthorizerEvent, Context } from 'aws-lambda';
import { authenticate } from '../lib/auth/authenticate';
import { logger } from '../lib/logger';
import { observability } from '../lib/observability';

// API Gateway TOKEN authorizer. The policy allows every route of the API because API Gateway caches
// it per token for all of them; what each caller may do is decided by the handlers.
export const handler = middy<APIGatewayTokenAuthorizerEvent, APIGatewayAuthorizerResult, Error, Context>()
  .use(observability())
  .handler(authorize);

async function authorize(event: APIGatewayTokenAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
  const principal = await authenticate(event.authorizationToken);
  if (!principal) {
    logger.info('authorization denied');
    // The exact message API Gateway turns into a 401.
    throw new Error('Unauthorized');
  }
  const [arnPrefix = '', stage = '*'] = event.methodArn.split('/');
  return {
    principalId: principal.role === 'admin' ? 'admin' : principal.deviceId,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: `${arnPrefix}/${stage}/*/*` }],
    },
    context:
      principal.role === 'admin' ? { role: 'admin' } : { role: 'device', deviceId: principal.deviceId },
  };
}
