import { randomBytes } from 'node:crypto';
import malformed from '../../events/consume-readings-malformed.json';
import { handler } from '../../src/handlers/consume-readings';
import { dynamo } from '../../src/lib/aws/dynamo';
import { lambdaContext } from '../support/lambda-context';
import { sealedMessage, sqsEvent, sqsRecord, storedReadings } from '../support/readings';

const newDevice = () => `c_${randomBytes(6).toString('hex')}`;

const storedRows = storedReadings;

describe('consume-readings against DynamoDB Local', () => {
  afterEach(() => jest.restoreAllMocks());

  it('stores 9 of a batch of 10 and reports exactly the poison message as failed', async () => {
    const deviceId = newDevice();
    const records = [];
    for (let index = 0; index < 9; index += 1) {
      records.push(sqsRecord(JSON.stringify(await sealedMessage(deviceId, 3, index * 10))));
    }
    const poison = sqsRecord('{"v":1,"deviceId":"x","readings":"garbage"}');
    records.splice(4, 0, poison);
    const result = await handler(sqsEvent(records), lambdaContext());
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: poison.messageId }]);
    expect(await storedRows(deviceId)).toBe(27);
  });

  it('rewrites the same rows when a message is delivered twice (in one batch, then again)', async () => {
    const deviceId = newDevice();
    const body = JSON.stringify(await sealedMessage(deviceId, 5));
    const first = sqsRecord(body);
    const duplicate = sqsRecord(body);
    expect((await handler(sqsEvent([first, duplicate]), lambdaContext())).batchItemFailures).toEqual([]);
    expect(
      (await handler(sqsEvent([sqsRecord(body, first.messageId)]), lambdaContext())).batchItemFailures,
    ).toEqual([]);
    expect(await storedRows(deviceId)).toBe(5);
  });

  it('retries UnprocessedItems (throttling) with backoff and loses nothing', async () => {
    const deviceId = newDevice();
    const message = await sealedMessage(deviceId, 30);
    const realSend = dynamo.send.bind(dynamo);
    let throttled = 0;
    jest.spyOn(dynamo, 'send').mockImplementation((async (command: {
      input: { RequestItems?: Record<string, unknown[]> };
    }) => {
      const requestItems = command.input.RequestItems;
      // The first two batch writes are "throttled": nothing written, everything unprocessed.
      if (requestItems && throttled < 2) {
        throttled += 1;
        return { UnprocessedItems: requestItems };
      }
      return realSend(command as never);
    }) as never);
    const result = await handler(sqsEvent([sqsRecord(JSON.stringify(message))]), lambdaContext());
    expect(throttled).toBe(2);
    expect(result.batchItemFailures).toEqual([]);
    expect(await storedRows(deviceId)).toBe(30);
  });

  it('reports the messages whose writes keep failing, and only those', async () => {
    const healthy = newDevice();
    const doomed = newDevice();
    const good = sqsRecord(JSON.stringify(await sealedMessage(healthy, 2)));
    const bad = sqsRecord(JSON.stringify(await sealedMessage(doomed, 2)));
    const realSend = dynamo.send.bind(dynamo);
    jest.spyOn(dynamo, 'send').mockImplementation((async (command: {
      input: { RequestItems?: Record<string, Array<{ PutRequest: { Item: { deviceId: string } } }>> };
    }) => {
      const items = Object.values(command.input.RequestItems ?? {}).flat();
      if (items.some((request) => request.PutRequest.Item.deviceId.startsWith(doomed))) {
        throw Object.assign(new Error('internal'), { name: 'InternalServerError' });
      }
      return realSend(command as never);
    }) as never);
    // One message per invocation, so that the chunks do not mix the two devices.
    expect((await handler(sqsEvent([good]), lambdaContext())).batchItemFailures).toEqual([]);
    expect((await handler(sqsEvent([bad]), lambdaContext())).batchItemFailures).toEqual([
      { itemIdentifier: bad.messageId },
    ]);
    expect(await storedRows(healthy)).toBe(2);
    expect(await storedRows(doomed)).toBe(0);
  });

  it('treats the sample malformed event (events/) as a failure to redeliver, not a crash', async () => {
    const result = await handler(malformed as never, lambdaContext());
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: malformed.Records[0]?.messageId }]);
  });
});
