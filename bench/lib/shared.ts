import type { SizeResult } from '../workers/ingest-handler';

/** Measurements one figure makes and a later one (the cost model) builds on. */
export interface Shared {
  ingest?: SizeResult[];
  /** The authorizer's time per uncached call (ms). */
  authorizerMs?: number;
  /** Consumer milliseconds per stored reading at the configured batch size. */
  consumerMsPerReading?: { median: number; batchSize: number; readingsPerMessage: number };
  /** Sustained end-to-end stored readings/s. */
  storedPerSecond?: number;
}
