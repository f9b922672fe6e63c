import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { localCredentials, localRegion } from './aws-local';

export type InvokeResult = { ok: true; payload: unknown } | { ok: false; error: string };

/** Invokes a function by its key in serverless.yml and reports the outcome as Lambda would. */
export type Invoker = (functionKey: string, event: unknown) => Promise<InvokeResult>;

/** Invokes functions through serverless-offline's Lambda Invoke API, like AWS's event sources do. */
export function lambdaApiInvoker(
  endpoint: string,
  functionName: (key: string) => string,
): Invoker & { close(): void } {
  const lambda = new LambdaClient({
    endpoint,
    region: localRegion,
    credentials: localCredentials,
    maxAttempts: 1,
  });
  const invoke = async (functionKey: string, event: unknown): Promise<InvokeResult> => {
    try {
      const response = await lambda.send(
        new InvokeCommand({
          FunctionName: functionName(functionKey),
          InvocationType: 'RequestResponse',
          Payload: Buffer.from(JSON.stringify(event)),
        }),
      );
      const text = response.Payload ? Buffer.from(response.Payload).toString('utf8') : '';
      const payload: unknown = text ? JSON.parse(text) : null;
      if (response.FunctionError) {
        const message = (payload as { errorMessage?: string } | null)?.errorMessage ?? response.FunctionError;
        return { ok: false, error: message };
      }
      return { ok: true, payload };
    } catch (error) {
      return { ok: false, error: (error as Error).message };
    }
  };
  return Object.assign(invoke, { close: () => lambda.destroy() });
}
