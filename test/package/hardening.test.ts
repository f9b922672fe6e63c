import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { printServiceConfig, projectRoot } from '../../scripts/local/service-config';
import { ErrorCode } from '../../src/lib/errors';
import { securityHeaders } from '../../src/lib/http/response';
import { grants, roleOf, roleStatements } from '../support/iam';
import { type CfnTemplate, packagedTemplate, resourcesOfType } from '../support/package';

// Least privilege, function by function: every (action, resource) its role allows, besides writing its
// own logs and traces. A function missing here fails the test, and so does any grant not listed.
const DEV_BUCKET = 'sensorcloud-dev-images-sensorcloud';
const EXPORTS_BUCKET = 'sensorcloud-dev-exports-sensorcloud';
const redriveGrants = [
  'kms:Decrypt DataKey',
  'kms:GenerateDataKey DataKey',
  'sqs:ChangeMessageVisibility ReadingsDeadLetterQueue',
  'sqs:DeleteMessage ReadingsDeadLetterQueue',
  'sqs:GetQueueAttributes ReadingsDeadLetterQueue',
  'sqs:ReceiveMessage ReadingsDeadLetterQueue',
  'sqs:SendMessage ReadingsQueue',
];

const expectedGrants: Record<string, string[]> = {
  health: [
    'dynamodb:DescribeTable ReadingsTable',
    'sqs:GetQueueAttributes ReadingsQueue',
    `s3:ListBucket s3:${DEV_BUCKET}`,
  ],
  authorize: ['dynamodb:GetItem DevicesTable', 'ssm:GetParameter ssm:/sensorcloud/dev/admin-token'],
  'manage-devices': [
    'dynamodb:GetItem DevicesTable',
    'dynamodb:PutItem DevicesTable',
    'dynamodb:Query DevicesTable/index/byKind',
    'dynamodb:Query ReadingsTable',
    'dynamodb:UpdateItem DevicesTable',
  ],
  'ingest-readings': [
    'dynamodb:GetItem AlertsTable',
    'dynamodb:GetItem DevicesTable',
    'dynamodb:GetItem IdempotencyTable',
    'dynamodb:GetItem KeysTable',
    'dynamodb:PutItem IdempotencyTable',
    'dynamodb:PutItem KeysTable',
    'dynamodb:UpdateItem DevicesTable',
    // Alert rules (the `rule` partition) and alert states (`state#…` partitions), by condition.
    'dynamodb:PutItem AlertsTable',
    'dynamodb:Query AlertsTable',
    'dynamodb:UpdateItem AlertsTable',
    // One statement per purpose: data keys (readings context), the pepper (its context), SQS and SNS encryption.
    'kms:Decrypt DataKey',
    'kms:Decrypt DataKey',
    'kms:Decrypt DataKey',
    'kms:GenerateDataKey DataKey',
    'kms:GenerateDataKey DataKey',
    'kms:GenerateDataKey DataKey',
    'kms:GenerateDataKey DataKey',
    's3:PutObject s3:sensorcloud-dev-ingest-sensorcloud/readings/*',
    'sns:Publish AlertsTopic',
    'sqs:SendMessage ReadingsQueue',
  ],
  'consume-readings': [
    'dynamodb:BatchWriteItem AuditTable',
    'dynamodb:BatchWriteItem ReadingsTable',
    'dynamodb:PutItem AggregatesTable',
    'dynamodb:PutItem AuditTable',
    'dynamodb:PutItem ReadingsTable',
    'kms:Decrypt DataKey',
    's3:GetObject s3:sensorcloud-dev-ingest-sensorcloud/readings/*',
    'sqs:DeleteMessage ReadingsQueue',
    'sqs:GetQueueAttributes ReadingsQueue',
    'sqs:ReceiveMessage ReadingsQueue',
  ],
  'query-readings': [
    'dynamodb:BatchGetItem ReadingsTable',
    'dynamodb:GetItem DevicesTable',
    'dynamodb:GetItem KeysTable',
    'dynamodb:PutItem AuditTable',
    'dynamodb:Query ReadingsTable',
    'dynamodb:UpdateItem DevicesTable',
    'kms:Decrypt DataKey',
  ],
  'query-aggregates': [
    'dynamodb:BatchGetItem AggregatesTable',
    'dynamodb:GetItem AggregatesTable',
    'dynamodb:GetItem KeysTable',
    'dynamodb:PutItem AuditTable',
    'dynamodb:Query AggregatesTable',
    'dynamodb:Query AggregatesTable/index/pending',
    'kms:Decrypt DataKey',
  ],
  'compact-aggregates': [
    'dynamodb:BatchGetItem AggregatesTable',
    'dynamodb:GetItem KeysTable',
    'dynamodb:PutItem AggregatesTable',
    'dynamodb:PutItem KeysTable',
    'dynamodb:Query AggregatesTable/index/pending',
    'dynamodb:Query DevicesTable/index/byKind',
    'dynamodb:UpdateItem AggregatesTable',
    'kms:Decrypt DataKey',
    'kms:GenerateDataKey DataKey',
  ],
  'list-audit': ['dynamodb:Query AuditTable'],
  'manage-alert-rules': [
    'dynamodb:BatchGetItem DevicesTable',
    'dynamodb:DeleteItem AlertsTable',
    'dynamodb:GetItem AlertsTable',
    'dynamodb:PutItem AlertsTable',
    'dynamodb:PutItem AuditTable',
    'dynamodb:Query AlertsTable',
    'dynamodb:UpdateItem AlertsTable',
  ],
  'list-alerts': [
    'dynamodb:Query AlertsTable',
    'dynamodb:Query AlertsTable/index/byDevice',
    'dynamodb:Query AlertsTable/index/byStatus',
  ],
  'manage-provisioning-keys': [
    'dynamodb:PutItem AuditTable',
    'dynamodb:PutItem ProvisioningTable',
    'dynamodb:Query ProvisioningTable/index/byKind',
    'dynamodb:UpdateItem ProvisioningTable',
  ],
  // The exchange is one transaction (UpdateItem on the key, PutItem of the device and the audit entry);
  // GetItem reads the failure counters and, for a retry, the device.
  'provision-device': [
    'dynamodb:GetItem DevicesTable',
    'dynamodb:GetItem ProvisioningTable',
    'dynamodb:PutItem AuditTable',
    'dynamodb:PutItem DevicesTable',
    'dynamodb:UpdateItem ProvisioningTable',
  ],
  'not-found': [],
  'get-stats': ['dynamodb:Query StatsTable'],
  'rollup-stats': [
    'cloudwatch:GetMetricData *',
    'dynamodb:BatchWriteItem StatsTable',
    'dynamodb:Query DevicesTable/index/byKind',
    'dynamodb:Query ReadingsTable',
    'dynamodb:Query StatsTable',
    'dynamodb:UpdateItem StatsTable',
    'sqs:GetQueueAttributes ReadingsDeadLetterQueue',
    'sqs:GetQueueAttributes ReadingsQueue',
  ],
  'detect-silent-devices': [
    'dynamodb:Query DevicesTable/index/byKind',
    'dynamodb:Query ReadingsTable',
    'dynamodb:UpdateItem DevicesTable',
    'kms:Decrypt DataKey',
    'kms:GenerateDataKey DataKey',
    'sns:Publish AlertsTopic',
  ],
  'redrive-dlq': redriveGrants,
  // The same move on demand (one YAML anchor in infra/functions/jobs.yml).
  'redrive-dead-letters': redriveGrants,
  'create-image-upload': [
    'dynamodb:GetItem ImagesTable',
    'dynamodb:PutItem ImagesTable',
    'dynamodb:UpdateItem ImagesTable',
    `s3:PutObject s3:${DEV_BUCKET}/uploads/*`,
  ],
  'put-image': [
    'dynamodb:GetItem ImagesTable',
    'dynamodb:PutItem ImagesTable',
    'dynamodb:UpdateItem ImagesTable',
    `s3:PutObject s3:${DEV_BUCKET}/uploads/*`,
  ],
  'list-images': [
    'dynamodb:Query ImagesTable',
    'dynamodb:Query ImagesTable/index/all',
    'dynamodb:Query ImagesTable/index/byOwner',
  ],
  'get-image': [
    'dynamodb:GetItem ImagesTable',
    `s3:GetObject s3:${DEV_BUCKET}/thumbnails/*`,
    `s3:GetObject s3:${DEV_BUCKET}/uploads/*`,
  ],
  'delete-image': [
    'dynamodb:DeleteItem ImagesTable',
    'dynamodb:GetItem ImagesTable',
    `s3:DeleteObject s3:${DEV_BUCKET}/thumbnails/*`,
    `s3:DeleteObject s3:${DEV_BUCKET}/uploads/*`,
    `s3:ListBucket s3:${DEV_BUCKET}`,
  ],
  // Stats table items under the `settings` and `cache#…` partitions only (dynamodb:LeadingKeys,
  // checked in test/package/console-template.test.ts).
  'get-image-content': [
    'dynamodb:GetItem ImagesTable',
    'dynamodb:GetItem StatsTable',
    'dynamodb:PutItem StatsTable',
    `s3:GetObject s3:${DEV_BUCKET}/thumbnails/*`,
    `s3:GetObject s3:${DEV_BUCKET}/uploads/*`,
  ],
  'image-cache': ['dynamodb:GetItem StatsTable', 'dynamodb:PutItem StatsTable'],
  // Rekognition is allowed where the stage's labeller is `rekognition` (dev, prod), denied offline.
  'process-image': [
    'dynamodb:DeleteItem ImagesTable',
    'dynamodb:GetItem ImagesTable',
    'dynamodb:PutItem ImagesTable',
    'dynamodb:PutItem StatsTable',
    'kms:Decrypt DataKey',
    'kms:GenerateDataKey DataKey',
    'rekognition:DetectLabels *',
    `s3:DeleteObject s3:${DEV_BUCKET}/thumbnails/*`,
    `s3:DeleteObject s3:${DEV_BUCKET}/uploads/*`,
    `s3:GetObject s3:${DEV_BUCKET}/uploads/*`,
    `s3:ListBucket s3:${DEV_BUCKET}`,
    `s3:PutObject s3:${DEV_BUCKET}/thumbnails/*`,
    'sqs:SendMessage ImageProcessingFailuresQueue',
  ],
  'manage-exports': [
    'dynamodb:DeleteItem ExportsTable',
    'dynamodb:GetItem DevicesTable',
    'dynamodb:GetItem ExportsTable',
    'dynamodb:GetItem KeysTable',
    'dynamodb:PutItem AuditTable',
    'dynamodb:PutItem ExportsTable',
    'dynamodb:UpdateItem DevicesTable',
    'dynamodb:UpdateItem ExportsTable',
    // The pepper (its context), S3 and SQS encryption (through those services); sealing a db_password
    // (its context): never unsealing it.
    'kms:Decrypt DataKey',
    'kms:Decrypt DataKey',
    'kms:GenerateDataKey DataKey',
    'kms:GenerateDataKey DataKey',
    `s3:GetObject s3:${EXPORTS_BUCKET}/exports/*`,
    'sqs:SendMessage ExportsQueue',
  ],
  'export-readings': [
    'dynamodb:BatchGetItem ReadingsTable',
    'dynamodb:DeleteItem ExportsTable',
    'dynamodb:GetItem DevicesTable',
    'dynamodb:GetItem ExportsTable',
    'dynamodb:GetItem KeysTable',
    'dynamodb:PutItem AuditTable',
    'dynamodb:Query DevicesTable/index/byKind',
    'dynamodb:Query ReadingsTable',
    'dynamodb:UpdateItem DevicesTable',
    'dynamodb:UpdateItem ExportsTable',
    // Data keys, the pepper and sealed db_passwords (their contexts); S3 and SQS encryption.
    'kms:Decrypt DataKey',
    'kms:Decrypt DataKey',
    'kms:GenerateDataKey DataKey',
    `s3:AbortMultipartUpload s3:${EXPORTS_BUCKET}/exports/*`,
    `s3:PutObject s3:${EXPORTS_BUCKET}/exports/*`,
    'sqs:DeleteMessage ExportsQueue',
    'sqs:GetQueueAttributes ExportsQueue',
    'sqs:ReceiveMessage ExportsQueue',
  ],
};

// The only actions that may name every resource, because the service has no narrower one.
const wildcardOnly = new Set([
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
  'rekognition:DetectLabels',
  'cloudwatch:GetMetricData',
]);

const functionsOf = (template: CfnTemplate) =>
  resourcesOfType(template, 'AWS::Lambda::Function').map(([logicalId, fn]) => ({
    logicalId,
    fn,
    name: String(fn.Properties?.FunctionName).replace(/^sensorcloud-dev-/, ''),
  }));

describe('least privilege and data protection in the packaged template', () => {
  let template: CfnTemplate;

  beforeAll(async () => {
    template = await packagedTemplate();
  }, 300_000);

  it('gives each function a role of its own granting exactly its listed actions on its resources', () => {
    const functions = functionsOf(template);
    expect(functions.map((f) => f.name).sort()).toEqual(Object.keys(expectedGrants).sort());
    const roles = functions.map((f) => roleOf(template, f.logicalId));
    expect(new Set(roles).size).toBe(functions.length);
    // No other role (osls' provider-wide one included) exists to be passed to anything.
    expect(
      resourcesOfType(template, 'AWS::IAM::Role')
        .map(([id]) => id)
        .sort(),
    ).toEqual([...roles].sort());
    for (const { logicalId, name } of functions) {
      const granted = grants(roleStatements(template, logicalId)).filter(
        (grant) => !/^(logs|xray):/.test(grant),
      );
      expect({ name, granted }).toEqual({ name, granted: [...(expectedGrants[name] ?? [])].sort() });
    }
  });

  it('narrows the password grants by condition: query updates only limiter/verifier attributes, ingest reads only the pepper', () => {
    const statementsOf = (name: string) => {
      const fn = functionsOf(template).find((f) => f.name === name);
      return roleStatements(template, fn?.logicalId ?? '');
    };
    const [update] = statementsOf('query-readings').filter((statement) =>
      [statement.Action].flat().includes('dynamodb:UpdateItem'),
    );
    expect(update?.Condition).toEqual({
      'ForAllValues:StringEquals': {
        'dynamodb:Attributes': [
          'deviceId',
          'passwordGuesses',
          'passwordGuessWindowEnds',
          'passwordVerifiers',
        ],
      },
      StringEqualsIfExists: { 'dynamodb:ReturnValues': ['NONE', 'UPDATED_NEW'] },
    });
    // Ingest: a password's verifier and the measured clock, nothing else of the device.
    const [ingestUpdate] = statementsOf('ingest-readings').filter((statement) =>
      [statement.Action].flat().includes('dynamodb:UpdateItem'),
    );
    expect(ingestUpdate?.Condition).toEqual({
      'ForAllValues:StringEquals': {
        'dynamodb:Attributes': [
          'deviceId',
          'passwordVerifiers',
          'clockOffsetMs',
          'clockOffsetMeasuredAt',
          'clockSkewFlagged',
          'clockSkewRejected',
        ],
      },
      StringEqualsIfExists: { 'dynamodb:ReturnValues': ['NONE', 'UPDATED_NEW'] },
    });
    const [pepperRead] = statementsOf('ingest-readings').filter(
      (statement) =>
        [statement.Action].flat().includes('dynamodb:GetItem') &&
        JSON.stringify(statement.Resource).includes('KeysTable'),
    );
    expect(pepperRead?.Condition).toEqual({
      'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['password-pepper/v1'] },
    });
    // KMS: the pepper only under its own encryption context, in both functions.
    const kmsContexts = (name: string) =>
      statementsOf(name)
        .filter((statement) => [statement.Action].flat().some((action) => action.startsWith('kms:')))
        .map((statement) => JSON.stringify(statement.Condition));
    expect(kmsContexts('ingest-readings')).toContain(
      JSON.stringify({ StringEquals: { 'kms:EncryptionContext:purpose': 'sensorcloud/password-pepper' } }),
    );
    expect(kmsContexts('query-readings')).toEqual([
      JSON.stringify({
        StringEquals: {
          'kms:EncryptionContext:purpose': ['sensorcloud/readings', 'sensorcloud/password-pepper'],
        },
      }),
    ]);
  });

  it('uses no wildcard action and no wildcard resource but where the service has no narrower one', () => {
    for (const { logicalId, name } of functionsOf(template)) {
      for (const grant of grants(roleStatements(template, logicalId))) {
        const [action = '', resource = ''] = grant.split(' ');
        expect({ name, action }).not.toEqual({ name, action: expect.stringMatching(/\*/) });
        if (resource === '*')
          expect({ name, grant, allowed: wildcardOnly.has(action) }).toMatchObject({ allowed: true });
        if (/^(dynamodb|sqs|s3|kms|ssm|sns):/.test(action)) expect(resource).not.toMatch(/^\*$|:\*$/);
      }
    }
  });

  it('lets a function write only its own log group, and traces where tracing is active', () => {
    for (const { logicalId, fn } of functionsOf(template)) {
      const logGrants = grants(roleStatements(template, logicalId)).filter((grant) =>
        grant.startsWith('logs:'),
      );
      expect(logGrants.length).toBeGreaterThan(0);
      for (const grant of logGrants)
        expect(grant.split(' ')[1]).toBe(`logs:/aws/lambda/${fn.Properties?.FunctionName}:*:*`);
      if ((fn.Properties?.TracingConfig as { Mode?: string } | undefined)?.Mode === 'Active')
        expect(grants(roleStatements(template, logicalId))).toContain('xray:PutTraceSegments *');
    }
  });

  it('encrypts every table and queue with the rotated KMS key, and keeps the key policy to the account', () => {
    for (const [id, table] of resourcesOfType(template, 'AWS::DynamoDB::Table')) {
      expect({ id, sse: table.Properties?.SSESpecification }).toEqual({
        id,
        sse: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: { Ref: 'DataKey' } },
      });
    }
    for (const [id, queue] of resourcesOfType(template, 'AWS::SQS::Queue'))
      expect({ id, key: queue.Properties?.KmsMasterKeyId }).toEqual({ id, key: { Ref: 'DataKey' } });
    for (const [id, topic] of resourcesOfType(template, 'AWS::SNS::Topic'))
      expect({ id, key: topic.Properties?.KmsMasterKeyId }).toEqual({ id, key: { Ref: 'DataKey' } });

    const key = template.Resources.DataKey?.Properties ?? {};
    expect(key.EnableKeyRotation).toBe(true);
    const statements = (key.KeyPolicy as { Statement: Array<Record<string, unknown>> }).Statement;
    // The account's own root (delegating to IAM, where the roles above are scoped) administers the
    // key; any other principal is an AWS service, and only ever for data-key use.
    for (const statement of statements) {
      const principal = statement.Principal as { AWS?: unknown; Service?: unknown };
      if (principal.AWS !== undefined) {
        expect(principal.AWS).toEqual({ 'Fn::Sub': `arn:aws:iam::\${AWS::AccountId}:root` });
      } else {
        expect(principal.Service).toEqual(expect.stringMatching(/\.amazonaws\.com$/));
        for (const action of [statement.Action].flat())
          expect(action).toMatch(/^kms:(Decrypt|GenerateDataKey\*?)$/);
      }
    }
  });

  it('scopes every KMS grant to a service (kms:ViaService) or to the readings encryption context', () => {
    for (const { logicalId, name } of functionsOf(template)) {
      for (const statement of roleStatements(template, logicalId) as unknown as Array<
        Record<string, unknown>
      >) {
        const actions = [statement.Action].flat() as string[];
        if (!actions.some((action) => action.startsWith('kms:'))) continue;
        const condition = JSON.stringify(statement.Condition ?? {});
        expect({ name, condition }).toEqual({
          name,
          condition: expect.stringMatching(/kms:ViaService|kms:EncryptionContext:purpose/),
        });
      }
    }
  });

  it('lets no AWS service use the key without the account condition (issue 11, item 10)', () => {
    const policy = template.Resources.DataKey?.Properties?.KeyPolicy as
      | { Statement: Array<Record<string, unknown>> }
      | undefined;
    const statements = policy?.Statement ?? [];
    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements.filter(
      (candidate) => (candidate.Principal as { Service?: unknown }).Service,
    ))
      expect(statement.Condition).toEqual({
        StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      });
  });

  it('lets functions other than manage-devices update only named device attributes', () => {
    for (const { logicalId, name } of functionsOf(template)) {
      if (name === 'manage-devices') continue;
      for (const statement of roleStatements(template, logicalId) as unknown as Array<
        Record<string, unknown>
      >) {
        const actions = [statement.Action].flat() as string[];
        const onDevices = JSON.stringify(statement.Resource).includes('DevicesTable');
        if (!onDevices || !actions.includes('dynamodb:UpdateItem')) continue;
        const attributes = (statement.Condition as Record<string, Record<string, string[]>> | undefined)?.[
          'ForAllValues:StringEquals'
        ]?.['dynamodb:Attributes'];
        expect({ name, attributes }).toEqual({ name, attributes: expect.arrayContaining(['deviceId']) });
        expect(attributes).not.toContain('tokenHash');
        expect(attributes).not.toContain('status');
      }
    }
  });

  it('gives the queue a visibility timeout of at least 6x its consumer timeout', () => {
    const mappings = resourcesOfType(template, 'AWS::Lambda::EventSourceMapping');
    expect(mappings.length).toBeGreaterThan(0);
    for (const [, mapping] of mappings) {
      const queueId =
        (mapping.Properties?.EventSourceArn as { 'Fn::GetAtt': [string] } | undefined)?.['Fn::GetAtt'][0] ??
        '';
      const fnId =
        (mapping.Properties?.FunctionName as { 'Fn::GetAtt': [string] } | undefined)?.['Fn::GetAtt'][0] ?? '';
      const timeout = template.Resources[fnId]?.Properties?.Timeout as number;
      const visibility = Number(template.Resources[queueId]?.Properties?.VisibilityTimeout);
      expect({ queueId, ok: visibility >= 6 * timeout }).toEqual({ queueId, ok: true });
    }
  });

  it('keeps every function log group for the stage retention', () => {
    const groups = resourcesOfType(template, 'AWS::Logs::LogGroup');
    const functions = functionsOf(template);
    for (const { fn } of functions) {
      const group = groups.find(
        ([, g]) => g.Properties?.LogGroupName === `/aws/lambda/${fn.Properties?.FunctionName}`,
      );
      expect(group?.[1].Properties?.RetentionInDays).toBe(30);
    }
    for (const [, group] of groups) expect(group.Properties?.RetentionInDays).toEqual(expect.any(Number));
  });

  it('makes every bucket private, encrypted by default and reachable over TLS only', () => {
    const buckets = resourcesOfType(template, 'AWS::S3::Bucket');
    expect(buckets.length).toBeGreaterThan(0);
    const policies = resourcesOfType(template, 'AWS::S3::BucketPolicy');
    for (const [id, bucket] of buckets) {
      expect({ id, block: bucket.Properties?.PublicAccessBlockConfiguration }).toEqual({
        id,
        block: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
      });
      const encryption = bucket.Properties?.BucketEncryption as {
        ServerSideEncryptionConfiguration: Array<{ ServerSideEncryptionByDefault: { SSEAlgorithm: string } }>;
      };
      expect(
        encryption.ServerSideEncryptionConfiguration[0]?.ServerSideEncryptionByDefault.SSEAlgorithm,
      ).toMatch(/^(AES256|aws:kms)$/);
      const name = bucket.Properties?.BucketName;
      const policy = policies.find(([, p]) => {
        const target = p.Properties?.Bucket;
        return (
          JSON.stringify(target) === JSON.stringify({ Ref: id }) || (name !== undefined && target === name)
        );
      });
      const denies = (
        (policy?.[1].Properties?.PolicyDocument as { Statement: Array<Record<string, unknown>> } | undefined)
          ?.Statement ?? []
      ).filter(
        (statement) =>
          statement.Effect === 'Deny' &&
          JSON.stringify(statement.Condition) === JSON.stringify({ Bool: { 'aws:SecureTransport': false } }),
      );
      expect({ id, tlsOnly: denies.length }).toEqual({ id, tlsOnly: 1 });
      expect(denies[0]?.Principal).toBe('*');
      expect(JSON.stringify(denies[0]?.Action)).toMatch(/s3:\*/);
      // Both the bucket and its objects.
      expect((denies[0]?.Resource as unknown[] | undefined)?.length).toBe(2);
    }
  });

  it('throttles the API per stage and public /health and /api/provision on their own, with a small reserved concurrency', () => {
    const [, deployment] = resourcesOfType(template, 'AWS::ApiGateway::Deployment')[0] ?? [];
    expect(deployment?.Properties?.StageDescription).toMatchObject({
      ThrottlingRateLimit: 50,
      ThrottlingBurstLimit: 100,
      MethodSettings: [
        { ResourcePath: '/~1health', HttpMethod: 'GET', ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
        {
          ResourcePath: '/~1api~1provision',
          HttpMethod: 'POST',
          ThrottlingRateLimit: 2,
          ThrottlingBurstLimit: 10,
        },
      ],
    });
    expect(template.Resources.HealthLambdaFunction?.Properties?.ReservedConcurrentExecutions).toBe(2);
  });

  it("answers API Gateway errors as JSON in the handlers' code vocabulary, with security headers", () => {
    const responses = resourcesOfType(template, 'AWS::ApiGateway::GatewayResponse');
    expect(responses.map(([, r]) => r.Properties?.ResponseType)).toEqual(
      expect.arrayContaining(['DEFAULT_4XX', 'DEFAULT_5XX', 'UNAUTHORIZED', 'ACCESS_DENIED', 'THROTTLED']),
    );
    const vocabulary = new Set<string>(Object.values(ErrorCode));
    for (const [, response] of responses) {
      const templates = (response.Properties?.ResponseTemplates ?? {}) as Record<string, string>;
      const body = JSON.parse(templates['application/json'] ?? '{}') as { error: { code: string } };
      expect(vocabulary.has(body.error.code)).toBe(true);
      const headers = Object.fromEntries(
        Object.entries(response.Properties?.ResponseParameters as Record<string, string>).map(
          ([name, value]) => [
            name.replace(/^gatewayresponse\.header\./, '').toLowerCase(),
            value.replace(/^'|'$/g, ''),
          ],
        ),
      );
      for (const [name, value] of Object.entries(headers)) expect(securityHeaders[name]).toBe(value);
      expect(Object.keys(headers)).toEqual(
        expect.arrayContaining([
          'x-content-type-options',
          'cache-control',
          'strict-transport-security',
          'x-frame-options',
        ]),
      );
    }
  });

  it('holds no secret: the admin token comes from SSM by name, never as a value', () => {
    const text = JSON.stringify(template);
    for (const { fn, name } of functionsOf(template)) {
      const env =
        (fn.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
      expect({ name, token: env.ADMIN_TOKEN ?? '' }).toEqual({ name, token: '' });
      expect(env.ADMIN_TOKEN_PARAMETER).toBe('/sensorcloud/dev/admin-token');
      expect(env.KEY_PROVIDER).toBe('kms');
      for (const [variable, value] of Object.entries(env)) {
        if (/SECRET|PASSWORD|TOKEN$|PRIVATE/.test(variable))
          expect({ variable, value }).toEqual({ variable, value: '' });
      }
    }
    expect(text).not.toMatch(/adm_[A-Za-z0-9_-]{16,}|AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY/);
  });
});

describe('the repository', () => {
  it('tracks no secrets: no keys, tokens or .env files under version control', () => {
    const files = execFileSync('git', ['ls-files', '-z'], { cwd: projectRoot, encoding: 'utf8' })
      .split('\0')
      .filter(Boolean);
    expect(files.filter((file) => /(^|\/)(\.env(\..*)?|.*\.pem|.*\.key|admin-token)$/.test(file))).toEqual(
      [],
    );
    const suspicious: string[] = [];
    for (const file of files) {
      if (/package-lock\.json$|\.(png|jpe?g|gif|webp|zip)$/.test(file)) continue;
      let text: string;
      try {
        text = readFileSync(path.join(projectRoot, file), 'utf8');
      } catch {
        continue; // a symlink to a folder (node_modules) or a file deleted in the working tree
      }
      if (
        /AKIA[0-9A-Z]{16}|aws_secret_access_key\s*=|-----BEGIN [A-Z ]*PRIVATE KEY|\badm_[A-Za-z0-9_-]{24,}/.test(
          text,
        )
      )
        suspicious.push(file);
    }
    expect(suspicious).toEqual([]);
  });
});

describe('the prod stage (serverless print --stage prod)', () => {
  it('protects data: deletion protection and point-in-time recovery on tables; tables, key and buckets retained', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const name of Object.keys(env)) if (name.startsWith('AWS_')) delete env[name];
    const config = (await printServiceConfig('prod', env)) as Awaited<
      ReturnType<typeof printServiceConfig>
    > & {
      resources: { extensions?: Record<string, { DeletionPolicy?: string }> };
    };
    const resources = config.resources.Resources as Record<
      string,
      {
        Type: string;
        DeletionPolicy?: string;
        UpdateReplacePolicy?: string;
        Properties?: Record<string, unknown>;
      }
    >;
    const tables = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::DynamoDB::Table');
    expect(tables.length).toBeGreaterThanOrEqual(4);
    for (const [id, table] of tables) {
      expect({ id, ...table.Properties, DeletionPolicy: table.DeletionPolicy }).toMatchObject({
        id,
        DeletionProtectionEnabled: true,
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionPolicy: 'Retain',
      });
    }
    expect(resources.DataKey?.DeletionPolicy).toBe('Retain');
    // A bucket of provider.s3 becomes a resource once a function subscribes to it.
    const subscribed = Object.values(config.functions).flatMap((fn) =>
      fn.events.flatMap((event) => (typeof event.s3 === 'object' ? [event.s3.bucket] : [])),
    );
    for (const bucket of Object.keys(config.provider.s3 ?? {}).filter((b) => subscribed.includes(b))) {
      const logicalId = `S3Bucket${bucket[0]?.toUpperCase()}${bucket.slice(1)}`;
      expect({ logicalId, policy: config.resources.extensions?.[logicalId]?.DeletionPolicy }).toEqual({
        logicalId,
        policy: 'Retain',
      });
    }
  }, 60_000);
});
