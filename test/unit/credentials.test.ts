import sample from '../../events/authorize.json';
import { handler } from '../../src/handlers/authorize';
import { deviceIdOfToken, newDeviceToken, parseAuthorization } from '../../src/lib/devices/credentials';
import { lambdaContext } from '../support/lambda-context';

describe('Authorization header parsing', () => {
  it.each([
    ['Bearer abc.def', { scheme: 'bearer', token: 'abc.def' }],
    ['bearer  abc ', { scheme: 'bearer', token: 'abc' }],
    [
      `Basic ${Buffer.from('dev_1:dev_1.secret:with:colons').toString('base64')}`,
      { scheme: 'basic', username: 'dev_1', password: 'dev_1.secret:with:colons' },
    ],
  ])('%s', (header, expected) => {
    expect(parseAuthorization(header)).toEqual(expected);
  });

  it.each([
    undefined,
    '',
    'Bearer',
    'Bearer a b',
    'Digest x',
    `Basic ${Buffer.from('nocolon').toString('base64')}`,
    `Basic ${Buffer.from(':x').toString('base64')}`,
  ])('refuses %p', (header) => {
    expect(parseAuthorization(header)).toBeUndefined();
  });

  it('reads the device id out of a token it issued, and nothing else', () => {
    expect(deviceIdOfToken(newDeviceToken('dev_abc'))).toBe('dev_abc');
    expect(deviceIdOfToken('no-dot')).toBeUndefined();
    expect(deviceIdOfToken('bad id.secret')).toBeUndefined();
  });
});

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
