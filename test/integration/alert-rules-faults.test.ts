import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import sample from '../../events/ingest-readings.json';
import type { AlertPublisher, RuleAlert } from '../../src/lib/alerts/alerts';
import { failedFor, injectFaults } from '../support/faults';
import { isolate } from '../support/isolated';
import { lambdaContext } from '../support/lambda-context';
import { createQueuePair, sqs } from '../support/sqs';

// Alert evaluation under failures, in-process against the real emulators: a failing evaluation never
// costs the readings (still 202, still queued once), and an alert whose send failed (or whose sender
// died) is sent again by a later evaluation, once, with the same alertId.

type Handler = (event: APIGatewayProxyEvent, context: unknown) => Promise<APIGatewayProxyResult>;

async function ingestContainer(env: Record<string, string> = {}) {
  const { queueUrl } = await createQueuePair({ visibilityTimeout: 30, maxReceiveCount: 5 });
  const saved = { ...process.env };
  Object.assign(process.env, env, { READINGS_QUEUE_URL: queueUrl });
  let loaded: {
    handler: Handler;
    dynamo: typeof import('../../src/lib/aws/dynamo').dynamo;
    registerDevice: typeof import('../../src/lib/devices/devices').registerDevice;
    rules: typeof import('../../src/lib/alerts/rules');
    states: typeof import('../../src/lib/alerts/states');
    config: typeof import('../../src/lib/config').config;
  };
  await jest.isolateModulesAsync(async () => {
    loaded = {
      handler: (await import('../../src/handlers/ingest-readings')).handler as unknown as Handler,
      dynamo: (await import('../../src/lib/aws/dynamo')).dynamo,
      registerDevice: (await import('../../src/lib/devices/devices')).registerDevice,
      rules: await import('../../src/lib/alerts/rules'),
      states: await import('../../src/lib/alerts/states'),
      config: (await import('../../src/lib/config')).config,
    };
  });
  process.env = saved;
  // biome-ignore lint/style/noNonNullAssertion: assigned inside isolateModulesAsync
  const app = loaded!;
  const queued = async () => {
    const { Attributes = {} } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );
    return Number(Attributes.ApproximateNumberOfMessages ?? 0);
  };
  const ingest = (deviceId: string, body: unknown) =>
    app.handler(
      {
        ...sample,
        headers: { 'Content-Type': 'application/json' },
        requestContext: { ...sample.requestContext, authorizer: { role: 'device', deviceId } },
        body: JSON.stringify(body),
      } as unknown as APIGatewayProxyEvent,
      lambdaContext(),
    );
  return { ...app, queued, ingest };
}

const who = { requestId: 'test', actor: 'admin', route: 'test' };
const T0 = Date.UTC(2026, 10, 2, 8, 0, 0);
const reading = (index: number, value: number) => ({
  at: T0 + index * 1000,
  batchId: `b${index}`,
  index: 0,
  value,
  protected: false,
});

function collecting(): AlertPublisher & { sent: RuleAlert[] } {
  const sent: RuleAlert[] = [];
  return { sent, publish: async (alert) => void sent.push(alert as RuleAlert) };
}
const failing: AlertPublisher = {
  publish: async () => {
    throw Object.assign(new Error('injected'), { name: 'InternalErrorException' });
  },
};

const disabledRule = {
  devices: 'all' as const,
  field: 'never.x',
  comparison: '>' as const,
  threshold: 1,
  severity: 'info' as const,
  enabled: false,
};

/** A new device and an enabled rule for it alone: x > 1, on one reading. */
async function deviceWithRule(app: Awaited<ReturnType<typeof ingestContainer>>) {
  const { device } = await app.registerDevice({});
  const rule = await app.rules.createRule(
    {
      devices: [device.deviceId],
      field: 'x',
      comparison: '>',
      threshold: 1,
      severity: 'info',
      enabled: true,
    },
    who,
  );
  return { device, rule };
}

describe('alert rules under failures', () => {
  it('accepts and queues the readings when the rules cannot be evaluated', async () => {
    const app = await ingestContainer();
    const { device, rule } = await deviceWithRule(app);
    const faults = injectFaults(app.dynamo, [
      {
        command: 'GetItemCommand',
        when: (input) => input.TableName === app.config.ALERTS_TABLE,
        times: Number.POSITIVE_INFINITY,
        error: failedFor('InternalServerError', 500),
      },
    ]);
    try {
      const response = await app.ingest(device.deviceId, { data: { relative_time: 1, freeform: { x: 5 } } });
      expect(response.statusCode).toBe(202);
      expect(faults.seen[0]).toBeGreaterThan(0);
      expect(await app.queued()).toBe(1);
    } finally {
      faults.remove();
      await app.rules.deleteRule(rule.ruleId, who);
    }
  });

  it('sends again, once, an alert whose first send failed, keeping its alertId and never storing its value', async () => {
    const app = await ingestContainer();
    const { device, rule } = await deviceWithRule(app);
    const key = { pk: `state#${rule.ruleId}`, sk: device.deviceId };
    const stored = async () =>
      (await app.dynamo.send(new GetCommand({ TableName: app.config.ALERTS_TABLE, Key: key }))).Item ?? {};

    expect(await app.states.applyRule(rule, device.deviceId, [reading(0, 5)], failing)).toEqual([]);
    // The transition is recorded (firing) with its alert pending, without the value.
    const afterFailure = await stored();
    expect(afterFailure).toMatchObject({ alertStatus: 'firing', transitions: 1 });
    expect(Object.keys(afterFailure.pending ?? {})).toEqual(['1']);
    expect(JSON.stringify(afterFailure)).not.toContain('"value"');

    // Not yet due: a later evaluation leaves it to its sender.
    const early = collecting();
    await app.states.applyRule(rule, device.deviceId, [reading(1, 6)], early);
    expect(early.sent).toEqual([]);

    // Due (as if ALERT_RESEND_AFTER_SECONDS had passed): the next evaluation sends it, once.
    await app.dynamo.send(
      new UpdateCommand({
        TableName: app.config.ALERTS_TABLE,
        Key: key,
        UpdateExpression: 'SET pending.#one.claimedAt = :old',
        ExpressionAttributeNames: { '#one': '1' },
        ExpressionAttributeValues: {
          ':old': Date.now() - (app.config.ALERT_RESEND_AFTER_SECONDS + 1) * 1000,
        },
      }),
    );
    const later = collecting();
    await app.states.applyRule(rule, device.deviceId, [reading(2, 7)], later);
    expect(later.sent).toEqual([
      expect.objectContaining({
        type: 'rule.firing',
        alertId: `${rule.ruleId}:${device.deviceId}:1`,
        threshold: 1,
      }),
    ]);
    expect(later.sent[0]).not.toHaveProperty('value');
    expect(Object.keys((await stored()).pending ?? {})).toEqual([]);
    const again = collecting();
    await app.states.applyRule(rule, device.deviceId, [reading(3, 8)], again);
    expect(again.sent).toEqual([]);

    // The next transition is numbered on, and carries its value.
    const clearing = collecting();
    await app.states.applyRule(rule, device.deviceId, [reading(4, 0)], clearing);
    expect(clearing.sent).toEqual([
      expect.objectContaining({
        type: 'rule.cleared',
        alertId: `${rule.ruleId}:${device.deviceId}:2`,
        value: 0,
      }),
    ]);
    await app.rules.deleteRule(rule.ruleId, who);
    // Deleting the rule removes its states.
    expect(await stored()).toEqual({});
  });

  it('refuses a rule over the per-account limit, also when created concurrently', async () => {
    // Tables of its own, so other tests' rules do not count.
    const isolated = await isolate();
    const app = await ingestContainer({ ...isolated.env, MAX_ALERT_RULES: '4' });
    const room = 4;
    const attempts = await Promise.allSettled(
      Array.from({ length: room + 3 }, () =>
        app.rules.createRule({ ...disabledRule, field: 'limit.never' }, who),
      ),
    );
    const created = attempts.flatMap((attempt) => (attempt.status === 'fulfilled' ? [attempt.value] : []));
    const refused = attempts.flatMap((attempt) => (attempt.status === 'rejected' ? [attempt.reason] : []));
    try {
      expect(created).toHaveLength(room);
      expect(refused.map((error) => (error as { code?: string }).code)).toEqual([
        'Conflict',
        'Conflict',
        'Conflict',
      ]);
      expect((await app.rules.allRules()).length).toBe(4);
      // Deleting one makes room for one.
      await app.rules.deleteRule((created.pop() as { ruleId: string }).ruleId, who);
      created.push(await app.rules.createRule({ ...disabledRule, field: 'limit.never' }, who));
    } finally {
      await isolated.dispose();
    }
  });

  it('retries a rule change cancelled by a concurrent transaction instead of calling it over the limit', async () => {
    const app = await ingestContainer();
    const conflict = () =>
      Object.assign(new Error('injected conflict'), {
        name: 'TransactionCanceledException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
        CancellationReasons: [{ Code: 'None' }, { Code: 'TransactionConflict' }, { Code: 'None' }],
      });
    const faults = injectFaults(app.dynamo, [
      { command: 'TransactWriteItemsCommand', times: 2, error: conflict },
    ]);
    try {
      const rule = await app.rules.createRule({ ...disabledRule, field: 'conflict.never' }, who);
      expect(faults.seen[0]).toBe(2);
      expect(await app.rules.getRule(rule.ruleId)).toEqual(rule);
      await app.rules.deleteRule(rule.ruleId, who);
    } finally {
      faults.remove();
    }
  });
});
