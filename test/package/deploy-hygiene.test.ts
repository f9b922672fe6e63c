import { packagedTemplate, resourcesOfType } from '../support/package';

describe('deploy hygiene', () => {
  it('publishes no numbered function versions, so old versions cannot pile up', async () => {
    const template = await packagedTemplate();
    expect(resourcesOfType(template, 'AWS::Lambda::Function').length).toBeGreaterThan(0);
    expect(resourcesOfType(template, 'AWS::Lambda::Version').map(([id]) => id)).toEqual([]);
  }, 300_000);
});
