import {
  type AttributeDefinition,
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
  ResourceNotFoundException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, PutBucketCorsCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { localAccountId, localRegion } from './aws-local';
import type { ServiceConfig } from './service-config';
import { resourcesOfType } from './service-config';

export interface QueueInfo {
  logicalId: string;
  name: string;
  url: string;
  arn: string;
}

export interface LocalResources {
  tables: string[];
  queues: QueueInfo[];
  buckets: string[];
}

const queueArn = (name: string) => `arn:aws:sqs:${localRegion}:${localAccountId}:${name}`;

/** Turns `{Fn::GetAtt: [Logical, Arn]}`, `{Ref: Logical}` or a literal ARN into the local queue it names. */
export function queueFromReference(config: ServiceConfig, reference: unknown): string {
  if (typeof reference === 'string') return reference.split(':').pop() ?? reference;
  const ref = reference as Record<string, unknown>;
  const getAtt = ref['Fn::GetAtt'];
  const logicalId = Array.isArray(getAtt)
    ? String(getAtt[0])
    : typeof ref.Ref === 'string'
      ? ref.Ref
      : undefined;
  const resource = logicalId ? config.resources.Resources[logicalId] : undefined;
  const name = resource?.Properties?.QueueName;
  if (resource?.Type !== 'AWS::SQS::Queue' || typeof name !== 'string') {
    throw new Error(
      `serverless.yml: ${JSON.stringify(reference)} does not name an SQS queue with a QueueName`,
    );
  }
  return name;
}

function tableInput(properties: Record<string, unknown>): CreateTableCommandInput {
  const gsis = properties.GlobalSecondaryIndexes as GlobalSecondaryIndex[] | undefined;
  return {
    TableName: properties.TableName as string,
    AttributeDefinitions: properties.AttributeDefinitions as AttributeDefinition[],
    KeySchema: properties.KeySchema as CreateTableCommandInput['KeySchema'],
    BillingMode: 'PAY_PER_REQUEST',
    GlobalSecondaryIndexes: gsis?.map((gsi) => ({
      IndexName: gsi.IndexName,
      KeySchema: gsi.KeySchema,
      Projection: gsi.Projection,
    })),
  };
}

async function ensureTable(dynamo: DynamoDBClient, properties: Record<string, unknown>): Promise<string> {
  const input = tableInput(properties);
  const name = input.TableName as string;
  try {
    const existing = await dynamo.send(new DescribeTableCommand({ TableName: name }));
    // A persisted table from an earlier run: add indexes that serverless.yml gained since.
    const present = new Set((existing.Table?.GlobalSecondaryIndexes ?? []).map((gsi) => gsi.IndexName));
    for (const gsi of input.GlobalSecondaryIndexes ?? []) {
      if (present.has(gsi.IndexName)) continue;
      await dynamo.send(
        new UpdateTableCommand({
          TableName: name,
          AttributeDefinitions: input.AttributeDefinitions,
          GlobalSecondaryIndexUpdates: [{ Create: gsi }],
        }),
      );
    }
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
    await dynamo.send(new CreateTableCommand(input));
  }
  const ttl = properties.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
  if (ttl?.AttributeName && ttl.Enabled) {
    await dynamo
      .send(
        new UpdateTimeToLiveCommand({
          TableName: name,
          TimeToLiveSpecification: { AttributeName: ttl.AttributeName, Enabled: true },
        }),
      )
      .catch((error: Error) => {
        // Already enabled on a persisted table.
        if (!/already enabled/i.test(error.message)) throw error;
      });
  }
  return name;
}

const queueAttributeNames = [
  'DelaySeconds',
  'MaximumMessageSize',
  'MessageRetentionPeriod',
  'ReceiveMessageWaitTimeSeconds',
  'VisibilityTimeout',
] as const;

async function ensureQueues(sqs: SQSClient, config: ServiceConfig): Promise<QueueInfo[]> {
  const declared = resourcesOfType(config, 'AWS::SQS::Queue');
  // Dead-letter queues first: a redrive policy must point at an existing queue.
  declared.sort(
    ([, a], [, b]) =>
      Number(Boolean(a.Properties?.RedrivePolicy)) - Number(Boolean(b.Properties?.RedrivePolicy)),
  );
  const queues: QueueInfo[] = [];
  for (const [logicalId, resource] of declared) {
    const properties = resource.Properties ?? {};
    const name = properties.QueueName;
    if (typeof name !== 'string') throw new Error(`serverless.yml: queue ${logicalId} needs a QueueName`);
    const attributes: Record<string, string> = {};
    for (const key of queueAttributeNames) {
      if (properties[key] !== undefined) attributes[key] = String(properties[key]);
    }
    const redrive = properties.RedrivePolicy as
      | { deadLetterTargetArn: unknown; maxReceiveCount: number }
      | undefined;
    if (redrive) {
      attributes.RedrivePolicy = JSON.stringify({
        deadLetterTargetArn: queueArn(queueFromReference(config, redrive.deadLetterTargetArn)),
        maxReceiveCount: redrive.maxReceiveCount,
      });
    }
    const created = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    queues.push({ logicalId, name, url: created.QueueUrl as string, arn: queueArn(name) });
  }
  return queues;
}

export function bucketNames(config: ServiceConfig): string[] {
  const names = new Set<string>();
  for (const bucket of Object.values(config.provider.s3 ?? {})) names.add(bucket.name);
  for (const [, resource] of resourcesOfType(config, 'AWS::S3::Bucket')) {
    const name = resource.Properties?.BucketName;
    if (typeof name === 'string') names.add(name);
  }
  return [...names];
}

async function ensureBuckets(s3: S3Client, config: ServiceConfig): Promise<string[]> {
  const names = bucketNames(config);
  for (const name of names) {
    await s3.send(new CreateBucketCommand({ Bucket: name })).catch((error: Error) => {
      if (error.name !== 'BucketAlreadyOwnedByYou' && error.name !== 'BucketAlreadyExists') throw error;
    });
  }
  // The console uploads straight to the bucket with presigned URLs: that needs the declared CORS rules.
  for (const bucket of Object.values(config.provider.s3 ?? {})) {
    const rules = bucket.corsConfiguration?.CorsRules;
    if (!rules) continue;
    await s3.send(
      new PutBucketCorsCommand({
        Bucket: bucket.name,
        CORSConfiguration: {
          CORSRules: rules.map((rule) => ({
            AllowedOrigins: rule.AllowedOrigins,
            AllowedMethods: rule.AllowedMethods,
            AllowedHeaders: rule.AllowedHeaders,
            ExposeHeaders: rule.ExposedHeaders,
            MaxAgeSeconds: rule.MaxAge,
          })),
        },
      }),
    );
  }
  return names;
}

/** Creates every table, queue and bucket serverless.yml declares (idempotent: persisted ones are kept). */
export async function createResources(
  config: ServiceConfig,
  clients: { dynamo: DynamoDBClient; sqs: SQSClient; s3: S3Client },
): Promise<LocalResources> {
  const tables = await Promise.all(
    resourcesOfType(config, 'AWS::DynamoDB::Table').map(([, resource]) =>
      ensureTable(clients.dynamo, resource.Properties ?? {}),
    ),
  );
  const [queues, buckets] = await Promise.all([
    ensureQueues(clients.sqs, config),
    ensureBuckets(clients.s3, config),
  ]);
  return { tables, queues, buckets };
}

/** Each function's on-failure destination queue (`destinations.onFailure: {type: sqs, arn}`), by function key. */
export function onFailureQueues(config: ServiceConfig): Map<string, string> {
  const queues = new Map<string, string>();
  for (const [functionKey, fn] of Object.entries(config.functions)) {
    const target = fn.destinations?.onFailure as { type?: string; arn?: unknown } | undefined;
    if (target?.type === 'sqs') queues.set(functionKey, queueFromReference(config, target.arn));
  }
  return queues;
}
