import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { freeformOf, interrogatorTimeOf, relativeTimeOf } from '../lib/readings';
import { serveWorker } from '../lib/workers';

// Seeds a device's readings straight into DynamoDB with BatchWriteItem, in exactly the item format
// the consumer writes (sealed under a real data key, so queries decrypt them as usual), in either
// layout: `rows`, one item per reading (the original service's pattern, and ours before chunks), or
// `chunks` of 100 readings (what a 100-reading request becomes). Arrival-log items are left out:
// relative-time windows never read them.

export type SeedLayout = 'rows' | 'chunks';
export const READINGS_PER_CHUNK = 100;

export interface SeedInput {
  layout: SeedLayout;
  deviceId: string;
  /** Relative times from..from+count-1. */
  from: number;
  count: number;
  concurrency: number;
}

export interface SeedOutput {
  rows: number;
  seconds: number;
}

serveWorker<SeedInput, SeedOutput>(async (input, progress) => {
  const { dynamo } = await import('../../src/lib/aws/dynamo');
  const { config } = await import('../../src/lib/config');
  const { seal } = await import('../../src/lib/crypto/cipher');
  const { currentDataKey } = await import('../../src/lib/crypto/data-keys');
  const { readingAad, readingSortKey, rowKey } = await import('../../src/lib/readings/rows');
  const { sealChunks } = await import('../../src/lib/readings/chunks');
  const { itemsOf } = await import('../../src/lib/readings/store');

  const started = performance.now();
  const { keyId, key } = await currentDataKey(input.count);
  const deviceKey = rowKey(key, input.deviceId);
  const arrivedAt = Date.now();
  /** The chunk items of readings first..first+count-1 (one request's worth). */
  const chunkItems = (first: number, count: number) => {
    const batchId = `seed${first}`;
    const header = { deviceId: input.deviceId, batchId, arrivedAt };
    const readings = Array.from({ length: count }, (_, number) => ({
      number,
      relativeTime: relativeTimeOf(first + number),
      interrogatorTime: interrogatorTimeOf(first + number),
      freeform: freeformOf(first + number),
    }));
    const chunks = sealChunks(deviceKey, header, readings, 0);
    return itemsOf({ ...header, seq: 0, keyId, chunks, readings: [] }).readings.map((write) => write.item);
  };
  const item = (index: number) => {
    const relativeTime = relativeTimeOf(index);
    const id = `seed${input.deviceId}-${index}`;
    const sealed = seal(
      deviceKey,
      Buffer.from(JSON.stringify(freeformOf(index))),
      readingAad(input.deviceId, id),
    );
    return {
      deviceId: input.deviceId,
      sk: readingSortKey(relativeTime, id),
      id,
      rt: relativeTime,
      it: interrogatorTimeOf(index),
      at: arrivedAt,
      kid: keyId,
      iv: sealed.iv,
      ct: sealed.ciphertext,
    };
  };

  let next = 0;
  let written = 0;
  let lastReport = performance.now();
  const writer = async () => {
    while (next < input.count) {
      const start = next;
      // 25 items per call: 25 readings as rows, or 25 × 100 readings as chunks.
      const perCall = input.layout === 'rows' ? 25 : 25 * READINGS_PER_CHUNK;
      const end = Math.min(input.count, start + perCall);
      next = end;
      let pending: Array<{ PutRequest: { Item: Record<string, unknown> } }> = [];
      if (input.layout === 'rows') {
        for (let offset = start; offset < end; offset += 1)
          pending.push({ PutRequest: { Item: item(input.from + offset) } });
      } else {
        for (let offset = start; offset < end; offset += READINGS_PER_CHUNK)
          for (const Item of chunkItems(input.from + offset, Math.min(READINGS_PER_CHUNK, end - offset)))
            pending.push({ PutRequest: { Item } });
      }
      for (let attempt = 0; pending.length > 0; attempt += 1) {
        const { UnprocessedItems = {} } = await dynamo.send(
          new BatchWriteCommand({ RequestItems: { [config.READINGS_TABLE]: pending } }),
        );
        pending = (UnprocessedItems[config.READINGS_TABLE] ?? []) as typeof pending;
        if (attempt > 10) throw new Error('seeding kept getting unprocessed items');
      }
      written += end - start;
      if (performance.now() - lastReport > 10_000) {
        lastReport = performance.now();
        const rate = written / ((lastReport - started) / 1000);
        progress(
          `  seeded ${written.toLocaleString('en-US')} of ${input.count.toLocaleString('en-US')} rows (${Math.round(rate)}/s)`,
        );
      }
    }
  };
  await Promise.all(Array.from({ length: input.concurrency }, writer));
  return { rows: written, seconds: (performance.now() - started) / 1000 };
});
