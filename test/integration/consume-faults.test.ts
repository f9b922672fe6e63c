import { randomBytes, randomUUID } from 'node:crypto';
import { arrivalsPartition } from '../../src/lib/readings/rows';
import { injectFaults, throttled } from '../support/faults';
import { itemsInPartition, sealedMessage, storedReadings } from '../support/readings';

// The consumer under faults, against DynamoDB Local and the S3 emulator: a message is reported failed
// (so SQS redelivers it) whenever any of its writes did not happen, and a redelivery completes it
// without duplicates. Each test loads the application fresh.

async function consumer() {
  let app:
    | {
        store: typeof import('../../src/lib/readings/store');
        spill: typeof import('../../src/lib/readings/spill');
        dynamo: typeof import('../../src/lib/aws/dynamo').dynamo;
        s3: typeof import('../../src/lib/aws/s3').s3;
      }
    | undefined;
  await jest.isolateModulesAsync(async () => {
    app = {
      store: await import('../../src/lib/readings/store'),
      spill: await import('../../src/lib/readings/spill'),
      dynamo: (await import('../../src/lib/aws/dynamo')).dynamo,
      s3: (await import('../../src/lib/aws/s3')).s3,
    };
  });
  return app as NonNullable<typeof app>;
}

const deadline = () => Date.now() + 15_000;

describe('consume-readings under faults', () => {
  it('fails a message whose arrival entry could not be written after its rows, and completes it once on redelivery', async () => {
    const app = await consumer();
    const deviceId = `cf_${randomBytes(6).toString('hex')}`;
    const body = JSON.stringify(await sealedMessage(deviceId, 30));
    // The second phase (arrival and audit entries) is throttled for good: as if the function died
    // between the two writes.
    const faults = injectFaults(app.dynamo, [
      {
        command: 'BatchWriteItemCommand',
        when: (input) => JSON.stringify(input).includes(arrivalsPartition(deviceId)),
        times: Number.POSITIVE_INFINITY,
        error: throttled(),
      },
    ]);
    try {
      expect(await app.store.storeMessages([{ messageId: 'm', body }], Date.now() + 3_000)).toEqual(['m']);
    } finally {
      faults.remove();
    }
    expect(await storedReadings(deviceId)).toBe(30);
    // No arrival entry names rows before they are all there: "seconds/{n}" cannot see a partial request.
    expect(await itemsInPartition(arrivalsPartition(deviceId))).toBe(0);
    // SQS redelivers it (twice, even): the same 30 rows and one arrival entry, nothing more.
    expect(await app.store.storeMessages([{ messageId: 'm', body }], deadline())).toEqual([]);
    expect(await app.store.storeMessages([{ messageId: 'm2', body }], deadline())).toEqual([]);
    expect(await storedReadings(deviceId)).toBe(30);
    expect(await itemsInPartition(arrivalsPartition(deviceId))).toBe(1);
  });

  it('fails a spilled message while S3 is throttled, and stores it once S3 answers', async () => {
    const app = await consumer();
    const deviceId = `cf_${randomBytes(6).toString('hex')}`;
    const message = await sealedMessage(deviceId, 5);
    const pointer = await app.spill.spillMessage(message, JSON.stringify(message));
    const body = JSON.stringify(pointer);
    const faults = injectFaults(app.s3, [
      { command: 'GetObjectCommand', times: Number.POSITIVE_INFINITY, error: throttled('SlowDown') },
    ]);
    try {
      expect(await app.store.storeMessages([{ messageId: 's', body }], deadline())).toEqual(['s']);
    } finally {
      faults.remove();
    }
    expect(await storedReadings(deviceId)).toBe(0);
    expect(await app.store.storeMessages([{ messageId: 's', body }], deadline())).toEqual([]);
    expect(await storedReadings(deviceId)).toBe(5);
  });

  it('fails (never half-stores) a pointer whose spilled copy is missing or altered', async () => {
    const app = await consumer();
    const deviceId = `cf_${randomBytes(6).toString('hex')}`;
    const message = await sealedMessage(deviceId, 2);
    const pointer = await app.spill.spillMessage(message, JSON.stringify(message));
    const missing = {
      ...pointer,
      spilled: { ...pointer.spilled, key: `readings/none/${randomUUID()}.json` },
    };
    const altered = { ...pointer, spilled: { ...pointer.spilled, sha256: 'A'.repeat(43) } };
    expect(
      await app.store.storeMessages(
        [
          { messageId: 'missing', body: JSON.stringify(missing) },
          { messageId: 'altered', body: JSON.stringify(altered) },
        ],
        deadline(),
      ),
    ).toEqual(['missing', 'altered']);
    expect(await storedReadings(deviceId)).toBe(0);
  });
});
