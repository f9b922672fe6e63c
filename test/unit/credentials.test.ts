import { deviceIdOfToken, newDeviceToken, parseAuthorization } from '../../src/lib/devices/credentials';

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
