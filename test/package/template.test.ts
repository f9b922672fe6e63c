import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { type CfnTemplate, packageDir, packagedTemplate, resourcesOfType } from '../support/package';

type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

function roleStatements(template: CfnTemplate, functionLogicalId: string): Statement[] {
  const fn = template.Resources[functionLogicalId];
  const roleRef = (fn?.Properties?.Role as { 'Fn::GetAtt'?: [string, string] })?.['Fn::GetAtt']?.[0];
  const role = roleRef ? template.Resources[roleRef] : undefined;
  const policies = (role?.Properties?.Policies ?? []) as Array<{
    PolicyDocument: { Statement: Statement[] };
  }>;
  return policies.flatMap((policy) => policy.PolicyDocument.Statement);
}

const actionsOf = (statements: Statement[]) =>
  statements.flatMap((statement) =>
    Array.isArray(statement.Action) ? statement.Action : [statement.Action],
  );

describe('the packaged CloudFormation template (serverless package, no AWS credentials)', () => {
  let template: CfnTemplate;

  beforeAll(async () => {
    template = await packagedTemplate();
  }, 300_000);

  it('declares every function on a supported Node.js runtime, bundled one zip per function', () => {
    const functions = resourcesOfType(template, 'AWS::Lambda::Function');
    const names = functions.map(([id]) => id).sort();
    expect(names).toEqual(
      expect.arrayContaining([
        'AuthorizeLambdaFunction',
        'ConsumeDashreadingsLambdaFunction',
        'HealthLambdaFunction',
        'IngestDashreadingsLambdaFunction',
        'ListDashauditLambdaFunction',
        'ManageDashdevicesLambdaFunction',
        'NotDashfoundLambdaFunction',
        'QueryDashreadingsLambdaFunction',
      ]),
    );
    for (const [, fn] of functions) expect(fn.Properties?.Runtime).toMatch(/^nodejs(2[2-9]|[3-9]\d)\.x$/);
    const zips = readdirSync(packageDir()).filter((file) => file.endsWith('.zip'));
    expect(zips.length).toBe(functions.length);
    for (const zip of zips) expect(statSync(path.join(packageDir(), zip)).size).toBeGreaterThan(0);
  });

  it('declares the tables, the queue with its dead-letter queue, the bucket and the KMS key', () => {
    const tables = resourcesOfType(template, 'AWS::DynamoDB::Table').map(
      ([, table]) => table.Properties?.TableName,
    );
    expect(tables).toEqual(
      expect.arrayContaining([
        'sensorcloud-dev-readings',
        'sensorcloud-dev-devices',
        'sensorcloud-dev-keys',
        'sensorcloud-dev-audit',
      ]),
    );
    const queue = template.Resources.ReadingsQueue?.Properties ?? {};
    expect(queue.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': ['ReadingsDeadLetterQueue', 'Arn'] },
      maxReceiveCount: 5,
    });
    // The event source mapping needs a visibility timeout of at least 6x the consumer's timeout.
    const consumerTimeout = template.Resources.ConsumeDashreadingsLambdaFunction?.Properties
      ?.Timeout as number;
    expect(queue.VisibilityTimeout as number).toBeGreaterThanOrEqual(6 * consumerTimeout);
    expect(resourcesOfType(template, 'AWS::S3::Bucket').length).toBeGreaterThanOrEqual(1);
    expect(template.Resources.DataKey?.Properties?.EnableKeyRotation).toBe(true);
  });

  it('gives the readings table no secondary index (every query is on its own key or the arrival log)', () => {
    const readings = template.Resources.ReadingsTable?.Properties ?? {};
    expect(readings.GlobalSecondaryIndexes).toBeUndefined();
    expect(readings.AttributeDefinitions).toEqual([
      { AttributeName: 'deviceId', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
    ]);
  });

  it('generates the query routes: iot and rssi, five windows each, own device and admin', () => {
    const queryMethods = resourcesOfType(template, 'AWS::ApiGateway::Method').filter(([, method]) =>
      JSON.stringify(method.Properties?.Integration ?? {}).includes('QueryDashreadingsLambdaFunction'),
    );
    // 2 names × 5 windows × 2 scopes, each behind the authorizer.
    expect(queryMethods).toHaveLength(20);
    for (const [, method] of queryMethods) expect(method.Properties?.AuthorizationType).toBe('CUSTOM');
  });

  it("gives every HTTP function a timeout under API Gateway's 29 s integration limit", () => {
    const integrated = new Set(
      resourcesOfType(template, 'AWS::ApiGateway::Method').flatMap(([, method]) => {
        const match = /"([A-Za-z]+LambdaFunction)"/.exec(
          JSON.stringify(method.Properties?.Integration ?? {}),
        );
        return match?.[1] ? [match[1]] : [];
      }),
    );
    expect(integrated.size).toBeGreaterThan(5);
    for (const id of integrated) {
      const timeout = template.Resources[id]?.Properties?.Timeout as number;
      expect({ id, withinGateway: timeout < 29 }).toEqual({ id, withinGateway: true });
    }
  });

  it('wires the consumer to the queue in batches with partial batch failures', () => {
    const [, mapping] = resourcesOfType(template, 'AWS::Lambda::EventSourceMapping')[0] ?? [];
    expect(mapping?.Properties).toMatchObject({
      BatchSize: 20,
      MaximumBatchingWindowInSeconds: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      EventSourceArn: { 'Fn::GetAtt': ['ReadingsQueue', 'Arn'] },
    });
  });

  it('puts every route but /health, the 404 fallback and /api/provision behind the Lambda authorizer', () => {
    const methods = resourcesOfType(template, 'AWS::ApiGateway::Method');
    const open = methods
      .filter(([, method]) => method.Properties?.AuthorizationType !== 'CUSTOM')
      .map(([id]) => id);
    expect(open.sort()).toEqual(
      // POST /api/provision is authenticated by the provisioning key it carries (its handler checks it).
      [
        'ApiGatewayMethodAny',
        'ApiGatewayMethodHealthGet',
        'ApiGatewayMethodProxyVarAny',
        'ApiGatewayMethodApiProvisionPost',
      ].sort(),
    );
    const [, authorizer] = resourcesOfType(template, 'AWS::ApiGateway::Authorizer')[0] ?? [];
    expect(authorizer?.Properties).toMatchObject({ Type: 'TOKEN', AuthorizerResultTtlInSeconds: 30 });
    expect(template.Resources.GatewayResponseDefault4xx?.Properties?.ResponseType).toBe('DEFAULT_4XX');
  });

  it('gives each function its own role with only what it needs', () => {
    const ingest = roleStatements(template, 'IngestDashreadingsLambdaFunction');
    expect(actionsOf(ingest)).toEqual(
      expect.arrayContaining(['sqs:SendMessage', 'dynamodb:PutItem', 'kms:GenerateDataKey']),
    );
    // Ingest never reads readings back: its one Query is of the alert rules (AlertsTable, `rule` partition).
    const queries = ingest.filter((statement) => [statement.Action].flat().includes('dynamodb:Query'));
    expect(queries.map((statement) => JSON.stringify(statement.Resource))).toEqual([
      JSON.stringify({ 'Fn::GetAtt': ['AlertsTable', 'Arn'] }),
    ]);
    expect(queries[0]?.Condition).toEqual({
      'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['rule'] },
    });
    const consumer = actionsOf(roleStatements(template, 'ConsumeDashreadingsLambdaFunction'));
    expect(consumer).toEqual(
      expect.arrayContaining(['dynamodb:BatchWriteItem', 'sqs:ReceiveMessage', 'sqs:DeleteMessage']),
    );
    expect(consumer).not.toContain('sqs:SendMessage');
    expect(
      actionsOf(roleStatements(template, 'NotDashfoundLambdaFunction')).filter(
        (a) => !/^(logs|xray):/.test(a),
      ),
    ).toEqual([]);
    for (const [id] of resourcesOfType(template, 'AWS::Lambda::Function')) {
      for (const statement of roleStatements(template, id)) {
        const actions = Array.isArray(statement.Action) ? statement.Action : [statement.Action];
        expect(actions).not.toContain('*');
        if (actions.some((action) => /^(dynamodb|sqs|s3|kms):/.test(action)))
          expect(statement.Resource).not.toBe('*');
      }
    }
  });
});
