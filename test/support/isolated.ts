import { randomBytes } from 'node:crypto';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { createQueuePair } from './sqs';

// Fresh, empty tables and queues on the run's emulators, for tests that need to know everything a
// job sees (empty tables, an empty dead-letter queue, exact global counts). A test file points the
// functions' settings at them BEFORE it loads any application module (dynamic import), so the
// application's config reads the isolated names; the shared stack is left alone.
export interface Isolated {
  env: Record<string, string>;
  dispose(): Promise<void>;
}

const TABLE_VARIABLES = [
  'READINGS_TABLE',
  'DEVICES_TABLE',
  'STATS_TABLE',
  'KEYS_TABLE',
  'AUDIT_TABLE',
  'ALERTS_TABLE',
];

export async function isolate(): Promise<Isolated> {
  const suffix = `iso-${randomBytes(4).toString('hex')}`;
  const dynamo = new DynamoDBClient({});
  const env: Record<string, string> = {};
  const created: string[] = [];
  for (const variable of TABLE_VARIABLES) {
    const source = process.env[variable] as string;
    const { Table } = await dynamo.send(new DescribeTableCommand({ TableName: source }));
    const name = `${source}-${suffix}`;
    await dynamo.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: Table?.AttributeDefinitions,
        KeySchema: Table?.KeySchema,
        GlobalSecondaryIndexes: Table?.GlobalSecondaryIndexes?.map((index) => ({
          IndexName: index.IndexName,
          KeySchema: index.KeySchema,
          Projection: index.Projection,
        })),
      }),
    );
    created.push(name);
    env[variable] = name;
  }
  const queues = await createQueuePair({ visibilityTimeout: 30, maxReceiveCount: 5 });
  env.READINGS_QUEUE_URL = queues.queueUrl;
  env.READINGS_DLQ_URL = queues.dlqUrl;
  env.LOCAL_ALERTS_FILE = `${process.env.SENSORCLOUD_DATA_DIR}/alerts-${suffix}.jsonl`;
  return {
    env,
    dispose: async () => {
      for (const name of created)
        await dynamo.send(new DeleteTableCommand({ TableName: name })).catch(() => undefined);
      dynamo.destroy();
    },
  };
}
