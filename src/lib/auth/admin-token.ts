import { ssmClient } from '../aws/ssm';
import { config } from '../config';

// In AWS the admin token is an SSM SecureString, read once per container and refreshed every few
// minutes so a rotation takes effect without a deploy; offline it is the ADMIN_TOKEN variable.
const REFRESH_MS = 5 * 60_000;
let cached: { value: string; fetchedAt: number } | undefined;

/** An admin token never has the `<deviceId>.<secret>` form of device tokens (so it has no '.'). */
export const isAdminTokenShaped = (token: string) => !token.includes('.');

export async function adminToken(): Promise<string> {
  if (config.ADMIN_TOKEN) return config.ADMIN_TOKEN;
  if (cached && Date.now() - cached.fetchedAt < REFRESH_MS) return cached.value;
  // Loaded on first use, not at init: device requests (most of the authorizer's cold starts) never need it.
  const ssm = await ssmClient();
  const { GetParameterCommand } = await import('@aws-sdk/client-ssm');
  const response = await ssm.send(
    new GetParameterCommand({ Name: config.ADMIN_TOKEN_PARAMETER, WithDecryption: true }),
  );
  const value = response.Parameter?.Value;
  if (!value) throw new Error('admin token parameter is empty');
  // Fail closed: a token with a '.' would be taken for a device token and could never match.
  if (!isAdminTokenShaped(value)) throw new Error('admin token parameter contains "."');
  cached = { value, fetchedAt: Date.now() };
  return value;
}
