import { encodeS3EventKey, subscriptionsFrom } from '../../scripts/local/s3-notifications';

describe('encodeS3EventKey', () => {
  it.each([
    ['a/b.jpg', 'a/b.jpg'],
    ['a b', 'a+b'],
    ['a+b', 'a%2Bb'],
    ['é', '%C3%A9'],
    ["it's (1)*!~", 'it%27s+%281%29%2A%21%7E'],
    ['100%', '100%25'],
  ])('%s → %s', (key, encoded) => {
    expect(encodeS3EventKey(key)).toBe(encoded);
  });
});

describe('subscriptionsFrom', () => {
  it('resolves provider.s3 bucket references and reads prefix/suffix rules', () => {
    const subscriptions = subscriptionsFrom(
      {
        process: {
          events: [
            {
              s3: {
                bucket: 'images',
                event: 's3:ObjectCreated:*',
                rules: [{ prefix: 'uploads/' }, { suffix: '.jpg' }],
              },
            },
          ],
        },
        other: { events: [{ s3: 'literal-bucket' }] },
        none: { events: [] },
      },
      { images: { name: 'svc-local-images' } },
    );
    expect(subscriptions).toEqual([
      {
        functionKey: 'process',
        bucket: 'svc-local-images',
        event: 's3:ObjectCreated:*',
        prefix: 'uploads/',
        suffix: '.jpg',
      },
      {
        functionKey: 'other',
        bucket: 'literal-bucket',
        event: 's3:ObjectCreated:*',
        prefix: undefined,
        suffix: undefined,
      },
    ]);
  });
});
