import autocannon from 'autocannon';
import { type LatencySummary, latencySummary } from './stats';

// Load comes from autocannon. Its own histogram has no p95 and mixes request kinds, so every
// response's latency is recorded here, tagged with the request it answered (autocannon calls the
// request's onResponse synchronously just before it emits 'response' for it).

export interface LoadRequest {
  kind: string;
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface KindResult {
  ok: number;
  failed: number;
  latency: LatencySummary;
  /** Successful responses per second. */
  rps: number;
}

export interface LoadResult {
  seconds: number;
  connections: number;
  total: KindResult;
  byKind: Record<string, KindResult>;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
}

export async function runLoad(options: {
  url: string;
  requests: LoadRequest[];
  connections: number;
  seconds: number;
  timeoutSeconds?: number;
  /** Called for every response (e.g. to count accepted readings over time). */
  onResponse?: (kind: string, status: number) => void;
}): Promise<LoadResult> {
  let currentKind = '';
  let currentStatus = 0;
  const samples = new Map<string, { ok: number[]; failed: number }>();
  const statusCodes: Record<string, number> = {};
  const requests = options.requests.map((request) => ({
    method: request.method,
    path: request.path,
    headers: request.headers,
    body: request.body,
    onResponse: (status: number) => {
      currentKind = request.kind;
      currentStatus = status;
    },
  }));
  for (const request of options.requests) samples.set(request.kind, { ok: [], failed: 0 });

  let instance: autocannon.Instance | undefined;
  const finished = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        duration: options.seconds,
        timeout: options.timeoutSeconds ?? 30,
        requests,
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
  instance?.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    const entry = samples.get(currentKind);
    statusCodes[statusCode] = (statusCodes[statusCode] ?? 0) + 1;
    options.onResponse?.(currentKind, statusCode);
    if (!entry || currentStatus !== statusCode) return;
    if (statusCode >= 200 && statusCode < 300) entry.ok.push(responseTime);
    else entry.failed += 1;
  });
  const result = await finished;
  const seconds = options.seconds;
  const summarise = (ok: number[], failed: number): KindResult => ({
    ok: ok.length,
    failed,
    latency: latencySummary(ok),
    rps: ok.length / seconds,
  });
  const byKind: Record<string, KindResult> = {};
  const all: number[] = [];
  let failed = 0;
  for (const [kind, entry] of samples) {
    byKind[kind] = summarise(entry.ok, entry.failed);
    all.push(...entry.ok);
    failed += entry.failed;
  }
  return {
    seconds,
    connections: options.connections,
    total: summarise(all, failed),
    byKind,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
  };
}

/**
 * Ramps up to `connections` concurrent requests (1, 2, 4, …), repeating a step until every request in
 * it succeeds: serverless-offline starts one worker thread per concurrent invocation (authorizer and
 * handler) and loads the handler in it lazily, and on a busy machine a burst of cold workers can
 * exceed the functions' timeout. Returns the number of failed warm-up requests.
 */
export async function warmUp(
  url: string,
  requests: LoadRequest[],
  connections: number,
  rounds = 2,
): Promise<number> {
  let failures = 0;
  const steps: number[] = [];
  for (let step = 1; step < connections; step *= 2) steps.push(step);
  steps.push(connections);
  for (const concurrency of steps) {
    for (let round = 0, ok = 0; ok < rounds && round < rounds + 5; round += 1) {
      const results = await Promise.all(
        Array.from({ length: concurrency }, async (_, index) => {
          const request = requests[index % requests.length] as LoadRequest;
          try {
            const response = await fetch(`${url}${request.path}`, {
              method: request.method,
              headers: request.headers,
              body: request.body,
            });
            await response.arrayBuffer();
            return response.ok;
          } catch {
            return false;
          }
        }),
      );
      const failed = results.filter((success) => !success).length;
      failures += failed;
      if (failed === 0) ok += 1;
    }
  }
  return failures;
}
