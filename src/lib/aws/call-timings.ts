import type { HandlerExecutionContext, InitializeHandler, MetadataBearer } from '@smithy/types';

// Where an invocation's time goes, per AWS call, without a tracing SDK: each client records the
// duration of every command (retries included), and the observability middleware logs the totals
// once per invocation. Lambda's active tracing still records each invocation's init and duration,
// and the SDK itself forwards the trace header (API → SQS → consumer); see docs/operations.md.
export interface CallTiming {
  count: number;
  ms: number;
}

const calls = new Map<string, CallTiming>();

// "DynamoDBClient" + "BatchWriteItemCommand" → "DynamoDB.BatchWriteItem".
const callName = (context: HandlerExecutionContext) =>
  `${(context.clientName ?? 'AWS').replace(/Client$/, '')}.${(context.commandName ?? '?').replace(/Command$/, '')}`;

interface Instrumentable {
  middlewareStack: {
    add(
      middleware: (
        next: InitializeHandler<object, MetadataBearer>,
        context: HandlerExecutionContext,
      ) => InitializeHandler<object, MetadataBearer>,
      options: { step: 'initialize'; name: string },
    ): void;
  };
}

/** Records the duration of every command the client sends (see takeCallTimings). */
export function timeCalls<C extends Instrumentable>(client: C): C {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const started = performance.now();
      try {
        return await next(args);
      } finally {
        const name = callName(context);
        const timing = calls.get(name) ?? { count: 0, ms: 0 };
        timing.count += 1;
        timing.ms += performance.now() - started;
        calls.set(name, timing);
      }
    },
    { step: 'initialize', name: 'sensorcloudCallTimings' },
  );
  return client;
}

/** The calls recorded since the last take (rounded to 0.1 ms), and a fresh start. */
export function takeCallTimings(): Record<string, CallTiming> {
  const taken: Record<string, CallTiming> = {};
  for (const [name, { count, ms }] of calls) taken[name] = { count, ms: Math.round(ms * 10) / 10 };
  calls.clear();
  return taken;
}
