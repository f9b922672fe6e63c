import { type CfnTemplate, packagedTemplate } from '../support/package';

// The exports bucket, table and queue as CloudFormation creates them (dev stage).
describe('exports in the packaged template', () => {
  let template: CfnTemplate;
  const properties = (logicalId: string) =>
    template.Resources[logicalId]?.Properties as Record<string, unknown>;

  beforeAll(async () => {
    template = await packagedTemplate();
  }, 300_000);

  it('keeps export files private, encrypted with the project key, TLS only, expiring after the retention', () => {
    expect(properties('ExportsBucket')).toMatchObject({
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            ServerSideEncryptionByDefault: {
              SSEAlgorithm: 'aws:kms',
              KMSMasterKeyID: { 'Fn::GetAtt': ['DataKey', 'Arn'] },
            },
            BucketKeyEnabled: true,
          },
        ],
      },
      LifecycleConfiguration: {
        Rules: [
          {
            Id: 'expire-exports',
            Status: 'Enabled',
            ExpirationInDays: 7,
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
          },
        ],
      },
    });
    const policy = properties('ExportsBucketPolicy').PolicyDocument as {
      Statement: Array<Record<string, unknown>>;
    };
    expect(policy.Statement).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': false } } }),
    );
  });

  it('expires job records, encrypts them and the queue, and dead-letters an export after three attempts', () => {
    expect(properties('ExportsTable')).toMatchObject({
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: { Ref: 'DataKey' } },
    });
    expect(properties('ExportsQueue')).toMatchObject({
      KmsMasterKeyId: { Ref: 'DataKey' },
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': ['ExportsDeadLetterQueue', 'Arn'] },
        maxReceiveCount: 3,
      },
    });
    expect(properties('ExportsDeadLetterQueue')).toMatchObject({ KmsMasterKeyId: { Ref: 'DataKey' } });
    const mapping = Object.values(template.Resources).find(
      (resource) =>
        resource.Type === 'AWS::Lambda::EventSourceMapping' &&
        JSON.stringify(resource.Properties?.EventSourceArn).includes('ExportsQueue'),
    );
    expect(mapping?.Properties).toMatchObject({
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });
});
