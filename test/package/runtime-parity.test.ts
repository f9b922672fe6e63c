import { assertProjectNode, majorOf, pinnedNodeVersion } from '../../scripts/local/runtime';
import { packagedTemplate, resourcesOfType } from '../support/package';

describe('runtime parity: local functions, tests and tools run on the Node major AWS runs', () => {
  it('deploys every function on nodejs<major>.x of the Node that package.json pins', async () => {
    const template = await packagedTemplate();
    const runtimes = new Set(
      resourcesOfType(template, 'AWS::Lambda::Function').map(([, fn]) => fn.Properties?.Runtime),
    );
    expect([...runtimes]).toEqual([`nodejs${majorOf(pinnedNodeVersion())}.x`]);
  }, 300_000);

  it('runs this test (a jest worker, forked like serverless offline from the same binary) on that Node', () => {
    expect(majorOf(process.version)).toBe(majorOf(pinnedNodeVersion()));
    expect(process.execPath).toMatch(/node_modules\/node-linux-(x64|arm64)\/bin\/node$/);
  });

  it('refuses to start on another major, naming the way to get the right one', () => {
    expect(() => assertProjectNode('v20.20.2')).toThrow(/Node v20\.20\.2.*npm run dev, npm test/);
    expect(() => assertProjectNode(`v${majorOf(pinnedNodeVersion())}.0.0`)).not.toThrow();
  });
});
