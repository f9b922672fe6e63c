import { randomBytes } from 'node:crypto';
import { SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import sampleEvent from '../../events/ingest-readings.json';
import { handler as ingest } from '../../src/handlers/ingest-readings';
import { sqs as appSqs } from '../../src/lib/aws/sqs';
import { config } from '../../src/lib/config';
import { api } from '../support/api';
import { registerTestDevice } from '../support/devices';
import { lambdaContext } from '../support/lambda-context';
import { eventually, peekAll, sqs } from '../support/sqs';
import { scanTable } from '../support/tables';

const marker = `PLAINTEXT-${randomBytes(6).toString('hex')}`;
const password = `pw-${randomBytes(6).toString('hex')}`;

describe('no plaintext at rest or in flight', () => {
  it('keeps freeform and db_password out of SQS messages, every table, the dead-letter queue', async () => {
    const device = await registerTestDevice();
    // Through the real handler in-process, watching exactly what it hands to SQS.
    const sent: string[] = [];
    const send = appSqs.send.bind(appSqs);
    const spy = jest.spyOn(appSqs, 'send').mockImplementation((async (command: unknown) => {
      if (command instanceof SendMessageBatchCommand) {
        sent.push(...(command.input.Entries ?? []).map((entry) => entry.MessageBody ?? ''));
      }
      return send(command as never);
    }) as never);
    const event = {
      ...sampleEvent,
      requestContext: {
        ...sampleEvent.requestContext,
        authorizer: { role: 'device', deviceId: device.deviceId },
      },
      body: JSON.stringify([
        { data: { db_password: password, relative_time: 1, freeform: { note: marker } } },
        { data: { relative_time: 2, freeform: marker } },
        // Aggregated (no password): its field name and value are content too.
        { data: { relative_time: 3, freeform: { [marker]: 4242.4242 } } },
      ]),
    } as unknown as APIGatewayProxyEvent;
    const response = await ingest(event, lambdaContext());
    spy.mockRestore();
    expect(response.statusCode).toBe(202);
    expect(sent.length).toBeGreaterThan(0);
    for (const body of sent) {
      expect(body).toContain('"agg":');
      expect(body).not.toContain('4242.4242');
      expect(body).not.toContain(marker);
      expect(body).not.toContain(password);
    }
    // Poison a message too, so the dead-letter queue has something to inspect.
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: config.READINGS_QUEUE_URL,
        MessageBody: `{"poison":"${randomBytes(4).toString('hex')}"}`,
      }),
    );

    // Once stored, the rows decrypt for their owner…
    await eventually(
      async () => {
        const rows = await api<{ data: Array<{ freeform: unknown }> }>('POST', '/api/iot', {
          token: device.token,
          body: { data: { db_password: password } },
        });
        expect(rows.body.data.map((row) => row.freeform)).toEqual([
          { note: marker },
          marker,
          { [marker]: 4242.4242 },
        ]);
      },
      { timeoutMs: 60_000 },
    );
    // …and nothing stored anywhere holds the plaintext or the password.
    for (const table of [
      config.READINGS_TABLE,
      config.AUDIT_TABLE,
      config.DEVICES_TABLE,
      config.KEYS_TABLE,
      config.AGGREGATES_TABLE,
    ]) {
      const dump = await scanTable(table);
      expect(dump).not.toContain(marker);
      expect(dump).not.toContain(password);
      expect(dump).not.toContain('4242.4242');
    }
    // The aggregate is there (sealed, its field under a tag), and not readable in the table.
    expect(await scanTable(config.AGGREGATES_TABLE)).toContain(`m#`);
    const deadLetters = (await peekAll(config.READINGS_DLQ_URL))
      .map((message) => message.Body ?? '')
      .join('\n');
    expect(deadLetters).not.toContain(marker);
    expect(deadLetters).not.toContain(password);
  }, 120_000);

  it('moves a poison message to the dead-letter queue after maxReceiveCount, through the running stack', async () => {
    const poison = `{"poison":"${randomBytes(6).toString('hex')}"}`;
    await sqs.send(new SendMessageCommand({ QueueUrl: config.READINGS_QUEUE_URL, MessageBody: poison }));
    const dead = await eventually(
      async () => {
        const messages = await peekAll(config.READINGS_DLQ_URL);
        const found = messages.find((message) => message.Body === poison);
        expect(found).toBeDefined();
        return found;
      },
      // Polled sparsely: each peek hides the dead letters briefly, and other tests redrive them.
      { timeoutMs: 110_000, intervalMs: 5_000 },
    );
    // Delivered (and reported failed) maxReceiveCount times before it was dead-lettered.
    expect(dead?.Body).toBe(poison);
  }, 120_000);
});
