import { serveWorker } from '../lib/workers';

// Seeds a device's aggregates of one field as compaction leaves them (hour and day summaries, the
// catalogue entry), through src/lib/aggregates' own functions, straight into DynamoDB: per minute
// `perMinute` readings with random values, so `readings` stored readings are summarised.

export interface SeedAggregatesInput {
  deviceId: string;
  field: string;
  /** Epoch ms: the first minute. */
  from: number;
  readings: number;
  perMinute: number;
}

export interface SeedAggregatesOutput {
  items: number;
  readings: number;
  seconds: number;
}

serveWorker<SeedAggregatesInput, SeedAggregatesOutput>(async (input) => {
  const { batchPut } = await import('../../src/lib/aws/batch');
  const { config } = await import('../../src/lib/config');
  const { compactedItems } = await import('../../src/lib/aggregates/compact');
  const { mergeStat, statOf } = await import('../../src/lib/aggregates/stats');
  type Stat = ReturnType<typeof statOf>;

  const started = performance.now();
  const minutes = new Map<number, Stat>();
  for (let index = 0; index < input.readings; index += 1) {
    const minute = input.from + Math.floor(index / input.perMinute) * 60_000;
    minutes.set(minute, mergeStat(minutes.get(minute), statOf(Math.round(Math.random() * 10_000) / 100)));
  }
  const items = await compactedItems(input.deviceId, input.field, minutes);
  const unwritten = await batchPut(
    items.map((item) => ({ table: config.AGGREGATES_TABLE, item, keyAttributes: ['deviceId', 'sk'] })),
    { concurrency: 8 },
  );
  if (unwritten.length > 0) throw new Error(`${unwritten.length} aggregate items not written`);
  return { items: items.length, readings: input.readings, seconds: (performance.now() - started) / 1000 };
});
