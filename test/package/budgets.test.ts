import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type CfnTemplate, packageDir, packagedTemplate, resourcesOfType } from '../support/package';
import { type ZipEntry, zipEntries, zipEntryContent } from '../support/zip';

// Size budgets of the zips `serverless package` builds (one esbuild bundle per function).
const ZIP_BUDGET_BYTES = 1_000_000;
// The image processor carries sharp and libvips for one platform: well under Lambda's 50 MB zip limit.
const IMAGE_ZIP_BUDGET_BYTES = 25_000_000;

const sharpPlatform: Record<string, string> = { x86_64: 'linux-x64', arm64: 'linux-arm64' };

interface Packaged {
  name: string;
  architecture: string;
  zip: string;
  bytes: number;
  entries: ZipEntry[];
}

function packagedFunctions(template: CfnTemplate): Packaged[] {
  return resourcesOfType(template, 'AWS::Lambda::Function').map(([, fn]) => {
    const key = String((fn.Properties?.Code as { S3Key?: string } | undefined)?.S3Key);
    const zip = path.join(packageDir(), path.basename(key));
    return {
      name: path.basename(key, '.zip'),
      architecture: (fn.Properties?.Architectures as string[] | undefined)?.[0] ?? 'x86_64',
      zip,
      bytes: statSync(zip).size,
      entries: zipEntries(zip),
    };
  });
}

const carriesSharp = (fn: Packaged) =>
  fn.entries.some((entry) => entry.name.startsWith('node_modules/sharp/'));

describe('package budgets (the zips of serverless package)', () => {
  let functions: Packaged[];

  beforeAll(async () => {
    functions = packagedFunctions(await packagedTemplate());
    // For the closing notes and CI logs: each function's zip and bundle size.
    const sizes = functions.map((fn) => ({
      function: fn.name,
      zipBytes: fn.bytes,
      bundleBytes: fn.entries.filter((e) => e.name.endsWith('.js')).reduce((sum, e) => sum + e.bytes, 0),
    }));
    writeFileSync(path.join(packageDir(), 'sizes.json'), JSON.stringify(sizes, null, 2));
  }, 300_000);

  it('builds each function as its own single bundle, the AWS SDK inside it rather than beside it', () => {
    expect(functions.length).toBeGreaterThan(0);
    for (const fn of functions.filter((f) => !carriesSharp(f))) {
      const names = fn.entries.map((entry) => entry.name).sort();
      expect({ fn: fn.name, names }).toEqual({
        fn: fn.name,
        names: [`src/handlers/${fn.name}.js`, `src/handlers/${fn.name}.js.map`],
      });
    }
    for (const fn of functions)
      expect({ fn: fn.name, sdk: fn.entries.filter((e) => e.name.includes('@aws-sdk/')).length }).toEqual({
        fn: fn.name,
        sdk: 0,
      });
  });

  it('bundles the AWS SDK version the tests ran (package-lock.json), not the one the runtime ships', () => {
    const ingest = functions.find((fn) => fn.name === 'ingest-readings');
    if (!ingest) throw new Error('ingest-readings was not packaged');
    const bundle = zipEntryContent(ingest.zip, 'src/handlers/ingest-readings.js').toString('utf8');
    const installed = (name: string) =>
      (JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version: string })
        .version;
    for (const client of ['@aws-sdk/client-sqs', '@aws-sdk/client-dynamodb'])
      expect(bundle).toContain(`name:"${client}",version:"${installed(client)}"`);
  });

  it('keeps every zip but the image processor within 1 MB', () => {
    for (const fn of functions.filter((f) => !carriesSharp(f)))
      expect({ fn: fn.name, withinBudget: fn.bytes <= ZIP_BUDGET_BYTES, bytes: fn.bytes }).toMatchObject({
        withinBudget: true,
      });
  });

  it('ships sharp only with the image processor, and only its own architecture’s binaries', () => {
    expect(functions.filter(carriesSharp).map((fn) => fn.name)).toEqual(['process-image']);
    for (const fn of functions.filter(carriesSharp)) {
      const platform = sharpPlatform[fn.architecture];
      const nativePackages = [
        ...new Set(
          fn.entries
            .map((entry) => /^node_modules\/@img\/(sharp-[^/]+)\//.exec(entry.name)?.[1])
            .filter((name): name is string => name !== undefined),
        ),
      ].sort();
      expect({ fn: fn.name, nativePackages }).toEqual({
        fn: fn.name,
        nativePackages: [`sharp-${platform}`, `sharp-libvips-${platform}`].sort(),
      });
      const addons = fn.entries.filter((entry) => /\.(node|so(\.\d+)*|dylib|dll)$/.test(entry.name));
      expect(addons.length).toBeGreaterThan(0);
      for (const addon of addons) expect(addon.name).toMatch(new RegExp(`/sharp-(libvips-)?${platform}/`));
      expect({ fn: fn.name, bytes: fn.bytes, ok: fn.bytes <= IMAGE_ZIP_BUDGET_BYTES }).toMatchObject({
        ok: true,
      });
    }
  });
});
