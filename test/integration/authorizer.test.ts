import sample from '../../events/authorize.json';
import { handler } from '../../src/handlers/authorize';
import { lambdaContext } from '../support/lambda-context';

// The authorizer against the stack's DynamoDB Local (an unknown token is looked up, and not found).
describe('authorizer handler', () => {
  it('denies an unknown token with the Unauthorized error API Gateway maps to 401', async () => {
    await expect(handler(sample as never, lambdaContext('authorize'))).rejects.toThrow('Unauthorized');
  });

  it('allows the admin on every route of the API (the result is cached per token)', async () => {
    const result = await handler(
      {
        ...sample,
        authorizationToken: `Bearer ${process.env.ADMIN_TOKEN}`,
      } as never,
      lambdaContext('authorize'),
    );
    expect(result.context).toEqual({ role: 'admin' });
    expect(result.policyDocument.Statement).toEqual([
      {
        Action: 'execute-api:Invoke',
        Effect: 'Allow',
        Resource: 'arn:aws:execute-api:us-east-1:000000000000:local/local/*/*',
      },
    ]);
  });
});
