import type { SSMClient } from '@aws-sdk/client-ssm';
import { timeCalls } from './call-timings';
import { clientOptions } from './client-options';

let client: SSMClient | undefined;

/**
 * The SSM client, created on first use: only the authorizer's admin-token check needs it, and
 * loading it costs ~65 ms of cold start that device requests should not pay.
 */
export async function ssmClient(): Promise<SSMClient> {
  if (!client) {
    const { SSMClient } = await import('@aws-sdk/client-ssm');
    client ??= timeCalls(new SSMClient(clientOptions));
  }
  return client;
}
