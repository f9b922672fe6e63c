import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

/** The Context Lambda passes a handler, for calling handlers in-process (tests and bench workers). */
export function lambdaContext(functionName = 'test', timeoutMs = 30_000): Context {
  const started = Date.now();
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: functionName,
    logStreamName: functionName,
    getRemainingTimeInMillis: () => timeoutMs - (Date.now() - started),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
