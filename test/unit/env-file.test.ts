import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadLocalEnvFile } from '../../scripts/local/env-file';

describe('local overrides from a .env file', () => {
  const names = ['SC_TEST_ENV_NEW', 'SC_TEST_ENV_SET', 'SENSORCLOUD_ENV_FILE'];
  const saved = Object.fromEntries(names.map((name) => [name, process.env[name]]));
  afterEach(() => {
    for (const name of names) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  it('adds the variables of <root>/.env without overriding what the environment already sets', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'sc-env-'));
    writeFileSync(path.join(root, '.env'), '# local\nSC_TEST_ENV_NEW=from-file\nSC_TEST_ENV_SET=from-file\n');
    process.env.SC_TEST_ENV_SET = 'from-environment';
    expect(loadLocalEnvFile(root)).toBe(path.join(root, '.env'));
    expect(process.env.SC_TEST_ENV_NEW).toBe('from-file');
    expect(process.env.SC_TEST_ENV_SET).toBe('from-environment');
  });

  it('reads the file SENSORCLOUD_ENV_FILE names, and nothing when there is no file', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'sc-env-'));
    expect(loadLocalEnvFile(root)).toBeUndefined();
    expect(process.env.SC_TEST_ENV_NEW).toBeUndefined();
    writeFileSync(path.join(root, 'other.env'), 'SC_TEST_ENV_NEW=other\n');
    process.env.SENSORCLOUD_ENV_FILE = path.join(root, 'other.env');
    expect(loadLocalEnvFile(root)).toBe(path.join(root, 'other.env'));
    expect(process.env.SC_TEST_ENV_NEW).toBe('other');
  });
});
