// In AWS the admin token comes from SSM, whose client the authorizer loads on first use only.
describe('admin token from SSM', () => {
  const names = ['ADMIN_TOKEN', 'ADMIN_TOKEN_PARAMETER'] as const;
  const saved = Object.fromEntries(names.map((name) => [name, process.env[name]]));
  afterEach(() => {
    for (const name of names) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  it('reads the SecureString once (decrypted) and serves the cached value afterwards', async () => {
    delete process.env.ADMIN_TOKEN;
    process.env.ADMIN_TOKEN_PARAMETER = '/sensorcloud/test/admin-token';
    await jest.isolateModulesAsync(async () => {
      const { GetParameterCommand, SSMClient } = require('@aws-sdk/client-ssm');
      const { mockClient } = require('aws-sdk-client-mock');
      const ssm = mockClient(SSMClient);
      ssm
        .on(GetParameterCommand, { Name: '/sensorcloud/test/admin-token', WithDecryption: true })
        .resolves({ Parameter: { Value: 'adm_from_ssm' } });
      const { adminToken } = require('../../src/lib/auth/admin-token');
      await expect(adminToken()).resolves.toBe('adm_from_ssm');
      await expect(adminToken()).resolves.toBe('adm_from_ssm');
      expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(1);
    });
  });

  it('fails closed on a parameter that looks like a device token', async () => {
    delete process.env.ADMIN_TOKEN;
    process.env.ADMIN_TOKEN_PARAMETER = '/sensorcloud/test/admin-token';
    await jest.isolateModulesAsync(async () => {
      const { GetParameterCommand, SSMClient } = require('@aws-sdk/client-ssm');
      const { mockClient } = require('aws-sdk-client-mock');
      mockClient(SSMClient)
        .on(GetParameterCommand)
        .resolves({ Parameter: { Value: 'dev_x.secret' } });
      const { adminToken } = require('../../src/lib/auth/admin-token');
      await expect(adminToken()).rejects.toThrow('admin token parameter contains "."');
    });
  });
});
