import { SSMClient } from '@aws-sdk/client-ssm';
import { timeCalls } from './call-timings';

// Imported on first use (src/lib/auth/admin-token.ts), never at init. Importing this module, not the
// SDK package, keeps the bundle to the one command used (a dynamic import of the package keeps all).
export { GetParameterCommand } from '@aws-sdk/client-ssm';
export const ssm = timeCalls(new SSMClient({}));
