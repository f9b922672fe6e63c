// Fault injection on the application's real SDK clients (src/lib/aws/*), talking to the real
// emulators: a middleware at the `initialize` step fails chosen commands before the SDK's own retries,
// so the code under test sees exactly what a throttled or failing AWS would hand it after those.

export interface Fault {
  /** The low-level command's name, e.g. 'BatchGetItemCommand' (also for lib-dynamodb's BatchGetCommand). */
  command: string;
  /** Only calls whose input matches (e.g. a table name). */
  when?: (input: Record<string, unknown>) => boolean;
  /** How many matching calls fail; Infinity for all. */
  times: number;
  /** What they fail with (an SDK-shaped error), or a rewrite of the real output. */
  error?: () => Error;
  output?: (output: Record<string, unknown>, input: Record<string, unknown>) => Record<string, unknown>;
}

export const throttled =
  (name = 'ProvisionedThroughputExceededException') =>
  () =>
    Object.assign(new Error(`injected ${name}`), {
      name,
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
      $retryable: { throttling: true },
    });

export const failedFor =
  (name: string, status = 400) =>
  () =>
    Object.assign(new Error(`injected ${name}`), {
      name,
      $fault: 'client',
      $metadata: { httpStatusCode: status },
    });

/** The part of an SDK v3 client (or document client) this needs. */
interface AnyClient {
  middlewareStack: {
    // biome-ignore lint/suspicious/noExplicitAny: any client's middleware
    add(middleware: any, options: Record<string, unknown>): void;
    remove(name: string): boolean;
  };
}

/** Installs faults on a client; returns the calls each fault saw and a remover. */
export function injectFaults(client: AnyClient, faults: Fault[]) {
  const remaining = faults.map((fault) => fault.times);
  const seen = faults.map(() => 0);
  const name = `fault-${Math.random().toString(36).slice(2)}`;
  client.middlewareStack.add(
    // biome-ignore lint/suspicious/noExplicitAny: generic middleware
    (next: any, context: { commandName?: string }) => async (args: { input: Record<string, unknown> }) => {
      const index = faults.findIndex(
        (fault, position) =>
          fault.command === context.commandName &&
          (remaining[position] ?? 0) > 0 &&
          (fault.when?.(args.input) ?? true),
      );
      if (index < 0) return next(args);
      const fault = faults[index] as Fault;
      remaining[index] = (remaining[index] ?? 0) - 1;
      seen[index] = (seen[index] ?? 0) + 1;
      if (fault.error) throw fault.error();
      const result = await next(args);
      return fault.output ? { ...result, output: fault.output(result.output, args.input) } : result;
    },
    // High priority: outside the document client's (un)marshalling, so inputs and outputs are plain.
    { step: 'initialize', priority: 'high', name, override: true },
  );
  return {
    seen,
    remove: () => client.middlewareStack.remove(name),
  };
}
