import { readFileSync } from 'node:fs';
import path from 'node:path';
import { onFailureQueues } from '../../scripts/local/resources';
import { printServiceConfig } from '../../scripts/local/service-config';
import { MetricName } from '../../src/lib/observability';
import { type CfnTemplate, packageDir, packagedTemplate } from '../support/package';

type Statement = { Effect: string; Action: string[]; Resource: unknown; Condition?: unknown };

function statementsOf(template: CfnTemplate, functionLogicalId: string): Statement[] {
  const fn = template.Resources[functionLogicalId];
  const roleId = (fn?.Properties?.Role as { 'Fn::GetAtt'?: [string, string] })?.['Fn::GetAtt']?.[0] ?? '';
  const policies = (template.Resources[roleId]?.Properties?.Policies ?? []) as Array<{
    PolicyDocument: { Statement: Statement[] };
  }>;
  return policies
    .flatMap((policy) => policy.PolicyDocument.Statement)
    .filter((statement) => !statement.Action.every((action) => action.startsWith('logs:')));
}

// File names sit uncompressed in a zip's headers.
const zipHas = (zip: string, entry: string) =>
  readFileSync(path.join(packageDir(), zip)).includes(Buffer.from(entry, 'utf8'));

describe('images in the packaged template', () => {
  let template: CfnTemplate;

  beforeAll(async () => {
    template = await packagedTemplate();
  }, 300_000);

  it('runs the processor on x86_64 with its measured memory, and ships linux-x64 sharp only in its zip', () => {
    expect(template.Resources.ProcessDashimageLambdaFunction?.Properties).toMatchObject({
      Architectures: ['x86_64'],
      MemorySize: 1769,
      Timeout: 60,
    });
    expect(zipHas('process-image.zip', 'node_modules/@img/sharp-linux-x64/lib/sharp-linux-x64-')).toBe(true);
    expect(zipHas('process-image.zip', 'node_modules/@img/sharp-libvips-linux-x64/lib/libvips-cpp.so')).toBe(
      true,
    );
    for (const zip of ['create-image-upload.zip', 'put-image.zip', 'get-image.zip', 'list-images.zip']) {
      expect(zipHas(zip, 'node_modules/sharp')).toBe(false);
    }
    expect(template.Resources.GetDashimageLambdaFunction?.Properties?.Architectures).toEqual(['arm64']);
  });

  it('triggers the processor on uploads/ only, with bounded async retries', () => {
    const bucket = template.Resources.S3BucketImages?.Properties as Record<string, unknown>;
    expect(bucket.NotificationConfiguration).toEqual({
      LambdaConfigurations: [
        {
          Event: 's3:ObjectCreated:*',
          Function: { 'Fn::GetAtt': ['ProcessDashimageLambdaFunction', 'Arn'] },
          Filter: { S3Key: { Rules: [{ Name: 'prefix', Value: 'uploads/' }] } },
        },
      ],
    });
    expect(template.Resources.ProcessDashimageLambdaEvConf?.Properties?.MaximumRetryAttempts).toBe(2);
  });

  it('declares the images table with its label and listing indexes, and binary media types', () => {
    const table = template.Resources.ImagesTable?.Properties ?? {};
    expect(table.TableName).toBe('sensorcloud-dev-images');
    const indexes = (table.GlobalSecondaryIndexes as Array<{ IndexName: string }>).map(
      (index) => index.IndexName,
    );
    expect(indexes.sort()).toEqual(['all', 'byOwner']);
    expect(table.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    expect(template.Resources.ApiGatewayRestApi?.Properties?.BinaryMediaTypes).toEqual([
      'application/octet-stream',
      'image/*',
    ]);
  });

  it('gives the processor only what it needs: read uploads/, write thumbnails/, its table, DetectLabels', () => {
    const statements = statementsOf(template, 'ProcessDashimageLambdaFunction');
    const summary = statements
      .filter((statement) => !statement.Action.every((action) => action.startsWith('xray:')))
      .map((statement) => [statement.Effect, statement.Action, statement.Resource]);
    expect(summary).toEqual([
      ['Allow', ['s3:GetObject'], 'arn:aws:s3:::sensorcloud-dev-images-sensorcloud/uploads/*'],
      ['Allow', ['s3:ListBucket'], 'arn:aws:s3:::sensorcloud-dev-images-sensorcloud'],
      ['Allow', ['s3:DeleteObject'], 'arn:aws:s3:::sensorcloud-dev-images-sensorcloud/uploads/*'],
      [
        'Allow',
        ['s3:PutObject', 's3:DeleteObject'],
        'arn:aws:s3:::sensorcloud-dev-images-sensorcloud/thumbnails/*',
      ],
      [
        'Allow',
        ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
        { 'Fn::GetAtt': ['ImagesTable', 'Arn'] },
      ],
      ['Allow', ['dynamodb:PutItem'], { 'Fn::GetAtt': ['StatsTable', 'Arn'] }],
      ['Allow', ['sqs:SendMessage'], { 'Fn::GetAtt': ['ImageProcessingFailuresQueue', 'Arn'] }],
      ['Allow', ['kms:GenerateDataKey', 'kms:Decrypt'], { 'Fn::GetAtt': ['DataKey', 'Arn'] }],
      ['Allow', ['rekognition:DetectLabels'], '*'],
    ]);
  });

  it('keeps the API functions apart: only delete deletes, only upload routes write uploads/', () => {
    const actions = (id: string) => statementsOf(template, id).flatMap((statement) => statement.Action);
    expect(actions('GetDashimageLambdaFunction')).not.toEqual(expect.arrayContaining(['s3:PutObject']));
    expect(actions('GetDashimageLambdaFunction')).not.toContain('s3:DeleteObject');
    expect(actions('ListDashimagesLambdaFunction').filter((action) => !action.startsWith('xray:'))).toEqual([
      'dynamodb:Query',
    ]);
    expect(actions('DeleteDashimageLambdaFunction')).toEqual(
      expect.arrayContaining(['s3:DeleteObject', 'dynamodb:DeleteItem', 's3:ListBucket']),
    );
    expect(actions('CreateDashimageDashuploadLambdaFunction')).not.toContain('s3:GetObject');
    for (const id of ['CreateDashimageDashuploadLambdaFunction', 'PutDashimageLambdaFunction']) {
      const writes = statementsOf(template, id).filter((statement) =>
        statement.Action.includes('s3:PutObject'),
      );
      expect(writes.map((statement) => statement.Resource)).toEqual([
        'arn:aws:s3:::sensorcloud-dev-images-sensorcloud/uploads/*',
      ]);
    }
  });

  it('bounds the processor’s concurrency per stage, so an upload burst cannot throttle the authorizer', () => {
    // infra/params.yml: imageProcessingConcurrency (default 10, prod 50).
    expect(template.Resources.ProcessDashimageLambdaFunction?.Properties?.ReservedConcurrentExecutions).toBe(
      10,
    );
  });

  it('sends events that failed every retry to an encrypted, alarmed queue only the processor may write', () => {
    expect(template.Resources.ProcessDashimageLambdaEvConf?.Properties).toMatchObject({
      MaximumRetryAttempts: 2,
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': ['ImageProcessingFailuresQueue', 'Arn'] } },
      },
    });
    expect(template.Resources.ImageProcessingFailuresQueue?.Properties).toMatchObject({
      QueueName: 'sensorcloud-dev-image-failures',
      KmsMasterKeyId: { Ref: 'DataKey' },
      MessageRetentionPeriod: 1209600,
    });
    expect(template.Resources.ImageProcessingFailuresAlarm?.Properties).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: 'sensorcloud-dev-image-failures' }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [{ Ref: 'AlertsTopic' }],
    });
    // No other role may send to it (the shared execution role included).
    const senders = Object.entries(template.Resources)
      .filter(([, resource]) => resource.Type === 'AWS::IAM::Role')
      .filter(([, resource]) =>
        JSON.stringify(resource.Properties?.Policies ?? []).includes('ImageProcessingFailuresQueue'),
      )
      .map(([id]) => id);
    const processor = template.Resources.ProcessDashimageLambdaFunction?.Properties ?? {};
    const processorRole = (processor.Role as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
    expect(senders).toEqual([processorRole]);
    // The data key only for that queue's encryption, through SQS.
    const kms = statementsOf(template, 'ProcessDashimageLambdaFunction').filter((statement) =>
      statement.Action.some((action) => action.startsWith('kms:')),
    );
    expect(kms).toEqual([
      expect.objectContaining({
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub string
        Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Sub': 'sqs.${AWS::Region}.amazonaws.com' } } },
      }),
    ]);
  });

  it('alarms on image rejects under the very name, namespace and dimensions the processor emits', () => {
    const processor = template.Resources.ProcessDashimageLambdaFunction?.Properties ?? {};
    const { Variables: variables } = processor.Environment as { Variables: Record<string, unknown> };
    expect(template.Resources.ImageRejectsAlarm?.Properties).toMatchObject({
      MetricName: MetricName.ImagesRejected,
      Namespace: variables.POWERTOOLS_METRICS_NAMESPACE,
      // Powertools' default dimension: service = POWERTOOLS_SERVICE_NAME.
      Dimensions: [{ Name: 'service', Value: variables.POWERTOOLS_SERVICE_NAME }],
      AlarmActions: [{ Ref: 'AlertsTopic' }],
    });
    expect(variables.POWERTOOLS_METRICS_NAMESPACE).toBe('sensorcloud/dev');
  });

  it('gives the local stack the same on-failure destination (the local S3 notifications send to it)', async () => {
    const local = await printServiceConfig('local', { ...process.env, SLS_TELEMETRY_DISABLED: '1' });
    expect([...onFailureQueues(local)]).toEqual([['process-image', 'sensorcloud-local-image-failures']]);
  }, 120_000);
});
