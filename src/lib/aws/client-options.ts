// Settings every SDK client shares: the SDK's own retries (3 attempts, backoff with jitter) and
// timeouts, so a hung call fails within seconds and is retried, instead of running into the
// function's timeout (which would fail a whole SQS batch and count every message toward the DLQ).
export const clientOptions = {
  maxAttempts: 3,
  // Without throwOnRequestTimeout the current SDK only logs a warning when requestTimeout passes.
  requestHandler: { connectionTimeout: 1_000, requestTimeout: 5_000, throwOnRequestTimeout: true },
} as const;
