import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { config } from '../config';

// In AWS the admin token is an SSM SecureString, read once per container and refreshed every few
// minutes so a rotation takes effect without a deploy; offline it is the ADMIN_TOKEN variable.
const REFRESH_MS = 5 * 60_000;
const ssm = config.ADMIN_TOKEN ? undefined : new SSMClient({});
let cached: { value: string; fetchedAt: number } | undefined;

export async function adminToken(): Promise<string> {
  if (config.ADMIN_TOKEN) return config.ADMIN_TOKEN;
  if (cached && Date.now() - cached.fetchedAt < REFRESH_MS) return cached.value;
  const response = await (ssm as SSMClient).send(
    new GetParameterCommand({ Name: config.ADMIN_TOKEN_PARAMETER, WithDecryption: true }),
  );
  const value = response.Parameter?.Value;
  if (!value) throw new Error('admin token parameter is empty');
  cached = { value, fetchedAt: Date.now() };
  return value;
}
