import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { sealedMessage } from '../support/readings';

// Issue 11, item 10: a hung DynamoDB call must not run the consumer into its timeout (which fails the
// whole SQS batch and counts every message toward maxReceiveCount). With request timeouts on every
// SDK client, the consumer gives up on the writes it cannot make and reports exactly those messages.

describe('SDK request timeouts', () => {
  let server: net.Server;
  const sockets = new Set<net.Socket>();

  beforeAll(async () => {
    // Accepts connections and never answers: a hung endpoint.
    server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('lets the consumer report its messages as failed by its deadline when DynamoDB hangs', async () => {
    const message = await sealedMessage(`hang_${randomUUID().slice(0, 8)}`, 3);
    const { port } = server.address() as net.AddressInfo;
    const previous = process.env.AWS_ENDPOINT_URL_DYNAMODB;
    process.env.AWS_ENDPOINT_URL_DYNAMODB = `http://127.0.0.1:${port}`;
    let storeMessages: typeof import('../../src/lib/readings/store').storeMessages | undefined;
    await jest.isolateModulesAsync(async () => {
      storeMessages = (await import('../../src/lib/readings/store')).storeMessages;
    });
    const started = Date.now();
    const deadline = started + 12_000;
    let failed: string[];
    try {
      // The SDK resolves its endpoint on the first call: the variable must be set until then.
      failed = await (storeMessages as NonNullable<typeof storeMessages>)(
        [{ messageId: 'm1', body: JSON.stringify(message) }],
        deadline,
      );
    } finally {
      process.env.AWS_ENDPOINT_URL_DYNAMODB = previous;
    }
    expect(failed).toEqual(['m1']);
    // Given up by the deadline it was handed (the function's remaining time less a margin), not later.
    expect(Date.now()).toBeLessThan(deadline + 1_000);
  }, 60_000);
});
