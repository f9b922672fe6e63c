import { PAGE_PATHS } from '../../scripts/local/console-files';
import { type CfnTemplate, packagedTemplate } from '../support/package';

// The console in AWS: a private bucket only CloudFront reads (origin access control), the API under
// the same distribution, strict headers, and client-side routes rewritten at the edge.

type Behavior = Record<string, unknown> & { TargetOriginId: string };
// biome-ignore lint/suspicious/noExplicitAny: the template is JSON walked freely by the assertions
type Json = any;

describe('console distribution in the packaged template', () => {
  let template: CfnTemplate;
  const resource = (id: string) => template.Resources[id]?.Properties as Record<string, Json>;

  beforeAll(async () => {
    template = await packagedTemplate();
  }, 300_000);

  it('keeps the console bucket private and encrypted, readable only by this distribution over TLS', () => {
    expect(template.Resources.ConsoleBucket?.Type).toBe('AWS::S3::Bucket');
    expect(resource('ConsoleBucket').PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(resource('ConsoleBucket').BucketEncryption).toBeDefined();
    expect(resource('ConsoleBucket').WebsiteConfiguration).toBeUndefined();
    const statements = resource('ConsoleBucketPolicy').PolicyDocument.Statement as Array<
      Record<string, Json>
    >;
    const allows = statements.filter((statement) => statement.Effect === 'Allow');
    expect(allows).toHaveLength(1);
    expect(allows[0]).toMatchObject({
      Principal: { Service: 'cloudfront.amazonaws.com' },
      Action: 's3:GetObject',
    });
    expect(JSON.stringify(allows[0]?.Condition)).toContain('ConsoleDistribution');
    expect(statements.find((statement) => statement.Effect === 'Deny')?.Condition).toEqual({
      Bool: { 'aws:SecureTransport': false },
    });
  });

  it('serves the bucket through origin access control and /api/* from API Gateway, uncached', () => {
    const config = resource('ConsoleDistribution').DistributionConfig;
    const origins = config.Origins as Array<Record<string, Json>>;
    const bucketOrigin = origins.find((origin) => origin.Id === 'console');
    expect(bucketOrigin?.OriginAccessControlId).toEqual({
      'Fn::GetAtt': ['ConsoleOriginAccessControl', 'Id'],
    });
    expect(bucketOrigin?.S3OriginConfig).toEqual({ OriginAccessIdentity: '' });
    expect(resource('ConsoleOriginAccessControl').OriginAccessControlConfig).toMatchObject({
      OriginAccessControlOriginType: 's3',
      SigningBehavior: 'always',
      SigningProtocol: 'sigv4',
    });
    const apiOrigin = origins.find((origin) => origin.Id === 'api');
    expect(JSON.stringify(apiOrigin?.DomainName)).toContain('ApiGatewayRestApi');
    expect(apiOrigin?.OriginPath).toBe('/dev');
    expect(apiOrigin?.CustomOriginConfig).toMatchObject({ OriginProtocolPolicy: 'https-only' });

    const api = (config.CacheBehaviors as Behavior[]).find((behavior) => behavior.PathPattern === '/api/*');
    expect(api).toMatchObject({
      TargetOriginId: 'api',
      // Managed CachingDisabled + AllViewerExceptHostHeader: Authorization, query and body pass through.
      CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad',
      OriginRequestPolicyId: 'b689b0a8-53d0-40ab-baf2-68738e2966ac',
    });
    expect(api?.AllowedMethods).toEqual(expect.arrayContaining(['GET', 'PUT', 'POST', 'DELETE']));
    expect(config.DefaultCacheBehavior).toMatchObject({
      TargetOriginId: 'console',
      ViewerProtocolPolicy: 'redirect-to-https',
    });
    // No custom error pages: they would turn the API's JSON errors into HTML.
    expect(config.CustomErrorResponses).toBeUndefined();
  });

  it('sends a strict CSP and rewrites only console page paths to index.html', () => {
    const headers = resource('ConsoleHeadersPolicy').ResponseHeadersPolicyConfig.SecurityHeadersConfig;
    const csp = JSON.stringify(headers.ContentSecurityPolicy.ContentSecurityPolicy);
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    expect(headers.FrameOptions).toMatchObject({ FrameOption: 'DENY' });

    const code = resource('ConsoleRoutesFunction').FunctionCode as string;
    const pages = new RegExp((/var PAGES = \/(.*)\/;/.exec(code) as RegExpExecArray)[1] as string);
    // The same routes as the local gateway's.
    expect(pages.source).toBe(PAGE_PATHS.source);
    for (const page of [
      '/',
      '/devices',
      '/devices/dev_1',
      '/images/a%20b',
      '/readings',
      '/provisioning',
      '/cache',
      '/audit',
      '/stats',
    ])
      expect({ page, rewritten: pages.test(page) }).toEqual({ page, rewritten: true });
    for (const other of ['/api/devices', '/assets/app-X.js', '/health', '/devices/a/b', '/unknown'])
      expect({ other, rewritten: pages.test(other) }).toEqual({ other, rewritten: false });
    expect(template.Outputs).toMatchObject({
      ConsoleUrl: expect.anything(),
      ConsoleBucketName: expect.anything(),
      ConsoleDistributionId: expect.anything(),
    });
  });

  it('gives the image-cache functions least privilege on the stats table', () => {
    const roles = Object.values(template.Resources).filter((entry) => entry.Type === 'AWS::IAM::Role');
    const policies = JSON.stringify(roles);
    expect(policies).toContain('"dynamodb:LeadingKeys":["settings","cache#*"]');
    expect(policies).toContain('"dynamodb:LeadingKeys":["settings"]');
  });
});
