import { printServiceConfig } from '../../scripts/local/service-config';
import { MetricName } from '../../src/lib/observability';
import { type CfnTemplate, packagedTemplate, resourcesOfType } from '../support/package';

// Scheduled jobs, alerts, alarms, metrics and tracing as CloudFormation would create them
// (`serverless package --stage dev`, no AWS credentials).
type Properties = Record<string, unknown>;
type Statement = { Effect: string; Action: string | string[]; Resource: unknown };
type MetricQuery = {
  Id: string;
  Expression?: string;
  ReturnData?: boolean;
  MetricStat?: {
    Metric: { Namespace: string; MetricName: string; Dimensions: Array<{ Name: string; Value: string }> };
    Stat: string;
  };
};

const NAMESPACE = 'sensorcloud/dev';
const topicRef = { Ref: 'AlertsTopic' };

function props(template: CfnTemplate, logicalId: string): Properties {
  const resource = template.Resources[logicalId];
  if (!resource) throw new Error(`no resource ${logicalId}`);
  return resource.Properties ?? {};
}

function roleStatements(template: CfnTemplate, functionLogicalId: string): Statement[] {
  const roleId = (props(template, functionLogicalId).Role as { 'Fn::GetAtt': [string, string] })[
    'Fn::GetAtt'
  ][0];
  const policies = props(template, roleId).Policies as Array<{ PolicyDocument: { Statement: Statement[] } }>;
  return policies.flatMap((policy) => policy.PolicyDocument.Statement);
}

const actions = (statement: Statement) =>
  Array.isArray(statement.Action) ? statement.Action : [statement.Action];
const grants = (statements: Statement[], action: string) =>
  statements
    .filter((statement) => actions(statement).includes(action))
    .map((statement) => statement.Resource);

describe('observability and jobs in the packaged template', () => {
  let template: CfnTemplate;
  let alarms: Record<string, Properties>;

  beforeAll(async () => {
    template = await packagedTemplate();
    alarms = Object.fromEntries(
      resourcesOfType(template, 'AWS::CloudWatch::Alarm').map(([id, alarm]) => [id, alarm.Properties ?? {}]),
    );
  }, 300_000);

  it('declares an encrypted alerts topic that the alarms can publish to', () => {
    expect(props(template, 'AlertsTopic')).toMatchObject({
      TopicName: 'sensorcloud-dev-alerts',
      KmsMasterKeyId: { Ref: 'DataKey' },
    });
    const keyPolicy = props(template, 'DataKey').KeyPolicy as { Statement: Array<Record<string, unknown>> };
    expect(keyPolicy.Statement).toContainEqual(
      expect.objectContaining({
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: expect.arrayContaining(['kms:Decrypt']),
      }),
    );
    expect(template.Outputs?.AlertsTopicArn).toMatchObject({ Value: topicRef });
  });

  it('wires every alarm to the alerts topic, alarm and recovery', () => {
    expect(Object.keys(alarms).sort()).toEqual(
      [
        'AlertEvaluationFailuresAlarm',
        'ConsumerErrorsAlarm',
        'DeadLetterQueueNotEmptyAlarm',
        'ExportsDeadLetterAlarm',
        'ImageProcessingFailuresAlarm',
        'ImageRejectsAlarm',
        'Ingest5xxRateAlarm',
        'OldestMessageAgeAlarm',
        'ReadingIntegrityAlarm',
        'ThrottlesAlarm',
      ].sort(),
    );
    for (const alarm of Object.values(alarms)) {
      expect(alarm.AlarmActions).toEqual([topicRef]);
      expect(alarm.OKActions).toEqual([topicRef]);
      expect(alarm.TreatMissingData).toBe('notBreaching');
      expect(alarm.AlarmName).toMatch(/^sensorcloud-dev-/);
    }
  });

  it('alarms when the dead-letter queue is not empty and when messages wait too long', () => {
    expect(alarms.DeadLetterQueueNotEmptyAlarm).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: 'sensorcloud-dev-readings-dlq' }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(alarms.OldestMessageAgeAlarm).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: 'sensorcloud-dev-readings' }],
      Statistic: 'Maximum',
      Threshold: 300,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    // The queues the alarms name are the ones declared.
    expect(props(template, 'ReadingsQueue').QueueName).toBe('sensorcloud-dev-readings');
    expect(props(template, 'ReadingsDeadLetterQueue').QueueName).toBe('sensorcloud-dev-readings-dlq');
  });

  it('alarms on consumer errors (failed invocations and failed messages) and on throttles', () => {
    const consumer = alarms.ConsumerErrorsAlarm?.Metrics as MetricQuery[];
    expect(consumer.map((query) => query.MetricStat?.Metric)).toEqual(
      expect.arrayContaining([
        {
          Namespace: 'AWS/Lambda',
          MetricName: 'Errors',
          Dimensions: [{ Name: 'FunctionName', Value: 'sensorcloud-dev-consume-readings' }],
        },
        {
          Namespace: NAMESPACE,
          MetricName: 'BatchItemFailures',
          Dimensions: [{ Name: 'service', Value: 'sensorcloud' }],
        },
      ]),
    );
    expect(consumer.filter((query) => query.ReturnData)).toEqual([
      expect.objectContaining({ Expression: 'FILL(errors, 0) + FILL(batchFailures, 0)' }),
    ]);
    const throttles = ((alarms.ThrottlesAlarm?.Metrics ?? []) as MetricQuery[]).flatMap((query) =>
      query.MetricStat ? [query.MetricStat.Metric] : [],
    );
    expect(
      throttles.every((metric) => metric.Namespace === 'AWS/Lambda' && metric.MetricName === 'Throttles'),
    ).toBe(true);
    expect(throttles.map((metric) => metric.Dimensions[0]?.Value).sort()).toEqual([
      'sensorcloud-dev-authorize',
      'sensorcloud-dev-consume-readings',
      'sensorcloud-dev-ingest-readings',
      'sensorcloud-dev-query-readings',
    ]);
    // Every function an alarm names exists under that name.
    const functionNames = resourcesOfType(template, 'AWS::Lambda::Function').map(
      ([, fn]) => fn.Properties?.FunctionName,
    );
    for (const metric of throttles) expect(functionNames).toContain(metric.Dimensions[0]?.Value);
  });

  it("alarms on the ingest route's 5xx rate and on image rejects, from the functions' own metrics", () => {
    const queries = alarms.Ingest5xxRateAlarm?.Metrics as MetricQuery[];
    const dimensions = [
      { Name: 'service', Value: 'sensorcloud' },
      { Name: 'function', Value: 'sensorcloud-dev-ingest-readings' },
    ];
    expect(queries.find((query) => query.Id === 'requests')?.MetricStat?.Metric).toEqual({
      Namespace: NAMESPACE,
      MetricName: MetricName.Requests,
      Dimensions: dimensions,
    });
    expect(queries.find((query) => query.Id === 'failed')?.MetricStat?.Metric).toEqual({
      Namespace: NAMESPACE,
      MetricName: MetricName.Failed,
      Dimensions: dimensions,
    });
    expect(queries.find((query) => query.ReturnData)?.Expression).toBe(
      'IF(requests > 0, 100 * FILL(failed, 0) / requests, 0)',
    );
    expect(alarms.Ingest5xxRateAlarm?.Threshold).toBe(5);
    expect(alarms.ImageRejectsAlarm).toMatchObject({
      Namespace: NAMESPACE,
      MetricName: MetricName.ImagesRejected,
      Dimensions: [{ Name: 'service', Value: 'sensorcloud' }],
      Statistic: 'Sum',
    });
    // Alarms on our own namespace only use metric names the code emits.
    const known = new Set<string>(Object.values(MetricName));
    for (const alarm of Object.values(alarms)) {
      const metrics = [
        ...(alarm.MetricName ? [{ Namespace: alarm.Namespace, MetricName: alarm.MetricName }] : []),
        ...((alarm.Metrics as MetricQuery[] | undefined) ?? []).flatMap((query) =>
          query.MetricStat ? [query.MetricStat.Metric] : [],
        ),
      ];
      for (const metric of metrics.filter((candidate) => candidate.Namespace === NAMESPACE))
        expect(known).toContain(metric.MetricName);
    }
  });

  it('turns on active tracing (no tracing SDK in the bundle) and metrics for every function', () => {
    const functions = resourcesOfType(template, 'AWS::Lambda::Function');
    expect(functions.length).toBeGreaterThan(0);
    for (const [id, fn] of functions) {
      expect(fn.Properties?.TracingConfig).toEqual({ Mode: 'Active' });
      const variables = (fn.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)
        ?.Variables;
      expect(variables).toMatchObject({
        POWERTOOLS_SERVICE_NAME: 'sensorcloud',
        POWERTOOLS_METRICS_NAMESPACE: NAMESPACE,
        ALERT_SINK: 'sns',
        ALERTS_TOPIC_ARN: topicRef,
        QUEUE_AGE_SOURCE: 'cloudwatch',
      });
      // Powertools Tracer (and the X-Ray SDK under it) is gone: nothing reads its settings.
      expect(Object.keys(variables ?? {}).filter((name) => name.startsWith('POWERTOOLS_TRACE'))).toEqual([]);
      // Each function's own role may write its traces.
      expect(grants(roleStatements(template, id), 'xray:PutTraceSegments')).toEqual(['*']);
    }
  });

  it('schedules the jobs and lets EventBridge invoke them', () => {
    const rules = Object.fromEntries(
      resourcesOfType(template, 'AWS::Events::Rule').map(([, rule]) => {
        const properties = rule.Properties ?? {};
        const target = (properties.Targets as Array<{ Arn: { 'Fn::GetAtt': [string, string] } }>)[0];
        return [target?.Arn['Fn::GetAtt'][0], [properties.ScheduleExpression, properties.State]];
      }),
    );
    expect(rules).toEqual({
      RollupDashstatsLambdaFunction: ['rate(1 minute)', 'ENABLED'],
      DetectDashsilentDashdevicesLambdaFunction: ['rate(15 minutes)', 'ENABLED'],
      RedriveDashdlqLambdaFunction: ['rate(1 day)', 'ENABLED'],
      CompactDashaggregatesLambdaFunction: ['rate(1 minute)', 'ENABLED'],
    });
    const invokers = resourcesOfType(template, 'AWS::Lambda::Permission')
      .map(([, permission]) => permission.Properties ?? {})
      .filter((permission) => permission.Principal === 'events.amazonaws.com');
    expect(invokers).toHaveLength(4);
    // The rollup's interval is the schedule's period.
    const rollup = props(template, 'RollupDashstatsLambdaFunction');
    expect(
      String((rollup.Environment as { Variables: Record<string, unknown> }).Variables.STATS_INTERVAL_SECONDS),
    ).toBe('60');
  });

  it('gives the jobs only what they need', () => {
    const detect = roleStatements(template, 'DetectDashsilentDashdevicesLambdaFunction');
    expect(grants(detect, 'sns:Publish')).toEqual([topicRef]);
    expect(grants(detect, 'dynamodb:UpdateItem')).toEqual([{ 'Fn::GetAtt': ['DevicesTable', 'Arn'] }]);
    expect(grants(detect, 'dynamodb:Scan')).toEqual([]);

    const redrive = roleStatements(template, 'RedriveDashdlqLambdaFunction');
    expect(grants(redrive, 'sqs:ReceiveMessage')).toEqual([
      { 'Fn::GetAtt': ['ReadingsDeadLetterQueue', 'Arn'] },
    ]);
    expect(grants(redrive, 'sqs:DeleteMessage')).toEqual([
      { 'Fn::GetAtt': ['ReadingsDeadLetterQueue', 'Arn'] },
    ]);
    expect(grants(redrive, 'sqs:SendMessage')).toEqual([{ 'Fn::GetAtt': ['ReadingsQueue', 'Arn'] }]);

    const rollup = roleStatements(template, 'RollupDashstatsLambdaFunction');
    expect(grants(rollup, 'dynamodb:BatchWriteItem')).toEqual([{ 'Fn::GetAtt': ['StatsTable', 'Arn'] }]);
    expect(grants(rollup, 'dynamodb:Scan')).toEqual([]);
    expect(rollup.flatMap(actions)).not.toContain('dynamodb:PutItem');

    const stats = roleStatements(template, 'GetDashstatsLambdaFunction');
    expect(stats.flatMap(actions).filter((action) => !/^(logs|xray):/.test(action))).toEqual([
      'dynamodb:Query',
    ]);
  });

  it('keeps rollup history in a table that expires it, encrypted with the data key', () => {
    expect(props(template, 'StatsTable')).toMatchObject({
      TableName: 'sensorcloud-dev-stats',
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: { Ref: 'DataKey' } },
    });
  });

  it('lets a stage choose its own rates (prod checks silence every 5 minutes)', async () => {
    const prod = await printServiceConfig('prod', { ...process.env, SLS_TELEMETRY_DISABLED: '1' });
    expect(prod.functions['detect-silent-devices']?.events).toEqual([{ schedule: 'rate(5 minutes)' }]);
    expect(prod.functions['rollup-stats']?.events).toEqual([{ schedule: 'rate(1 minute)' }]);
    expect(String(prod.provider.environment?.STATS_RETENTION_DAYS)).toBe('90');
  }, 60_000);
});
