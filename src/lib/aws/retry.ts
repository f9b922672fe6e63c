// Retry with exponential backoff and full jitter, the one way every dependency call here is retried
// beyond the SDK's own attempts (throttled batches, unprocessed items, failed batch entries).

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Epoch ms after which no new attempt starts (a Lambda's remaining time). */
  deadline?: number;
}

export const defaultRetryPolicy: RetryPolicy = { attempts: 6, baseDelayMs: 50, maxDelayMs: 2_000 };

/** Full jitter: a random delay up to the exponential bound (AWS Architecture Blog, "Exponential Backoff And Jitter"). */
const backoffDelay = (attempt: number, policy: RetryPolicy = defaultRetryPolicy) =>
  Math.random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);

const RETRYABLE_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'SlowDown',
  'InternalServerError',
  'InternalError',
  'ServiceUnavailable',
  'KMSInternalException',
  'KeyUnavailableException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'AbortError',
]);
const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

/**
 * Whether a failed call may succeed if tried again: throttling, timeouts, 5xx and broken connections.
 * Validation errors, missing resources and denied access are final.
 */
export function isTransient(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return false;
  const candidate = error as {
    name?: string;
    code?: string;
    $retryable?: unknown;
    $metadata?: { httpStatusCode?: number };
    cause?: unknown;
  };
  if (candidate.$retryable) return true;
  if (candidate.name && RETRYABLE_NAMES.has(candidate.name)) return true;
  if (candidate.code && RETRYABLE_CODES.has(candidate.code)) return true;
  const status = candidate.$metadata?.httpStatusCode;
  if (status !== undefined && (status === 429 || status >= 500)) return true;
  return candidate.cause !== undefined && candidate.cause !== error && isTransient(candidate.cause);
}

/** An abort signal firing at the deadline, so a call in flight cannot outlast it. */
export const deadlineSignal = (deadline?: number) =>
  deadline === undefined ? undefined : AbortSignal.timeout(Math.max(1, deadline - Date.now()));

/** Whether a deadline leaves room for one more wait of at most `delayMs`. */
const hasTimeFor = (delayMs: number, deadline?: number) =>
  deadline === undefined || Date.now() + delayMs < deadline;

/**
 * The loop every batch API needs: send what is pending, keep what came back unprocessed, back off,
 * send that again; until nothing is left, or `policy.attempts` calls in a row made no progress, or the
 * deadline is near. A transient failure of the whole call counts as no progress; any other is thrown.
 * Resolves to what is left (empty when everything went through).
 */
export async function retryRemaining<T>(
  initial: readonly T[],
  call: (pending: readonly T[], signal: AbortSignal | undefined) => Promise<readonly T[]>,
  policy: RetryPolicy,
): Promise<readonly T[]> {
  let pending = initial;
  for (let stalled = 0; pending.length > 0; ) {
    let left: readonly T[];
    try {
      left = await call(pending, deadlineSignal(policy.deadline));
    } catch (error) {
      if (!isTransient(error)) throw error;
      left = pending;
    }
    stalled = left.length < pending.length ? 0 : stalled + 1;
    pending = left;
    if (pending.length === 0) break;
    const delay = backoffDelay(stalled, policy);
    if (stalled >= policy.attempts || !hasTimeFor(delay, policy.deadline)) break;
    await sleep(delay);
  }
  return pending;
}
