import type { CfnTemplate } from './package';

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** The statements of the role a function runs with. */
export function roleStatements(template: CfnTemplate, functionLogicalId: string): Statement[] {
  const role = template.Resources[roleOf(template, functionLogicalId) ?? ''];
  const policies = (role?.Properties?.Policies ?? []) as Array<{
    PolicyDocument: { Statement: Statement[] };
  }>;
  return policies.flatMap((policy) => policy.PolicyDocument.Statement);
}

export function roleOf(template: CfnTemplate, functionLogicalId: string): string | undefined {
  const fn = template.Resources[functionLogicalId];
  return (fn?.Properties?.Role as { 'Fn::GetAtt'?: [string, string] })?.['Fn::GetAtt']?.[0];
}

const PSEUDO = /\$\{AWS::(Partition|Region|AccountId)\}/g;

/**
 * A resource of a policy in a short, readable form: `ReadingsTable`, `DevicesTable/index/byKind`,
 * `s3:<bucket>/uploads/*`, `ssm:/sensorcloud/dev/admin-token`, `logs:/aws/lambda/…`, or `*`.
 */
export function resourceName(resource: unknown): string {
  if (typeof resource === 'string') {
    return resource
      .replace(/^arn:aws:s3:::/, 's3:')
      .replace(/^arn:[^:]+:ssm:[^:]*:[^:]*:parameter/, 'ssm:')
      .replace(/^arn:[^:]+:logs:[^:]*:[^:]*:log-group:/, 'logs:');
  }
  if (resource && typeof resource === 'object') {
    const intrinsic = resource as Record<string, unknown>;
    const getAtt = intrinsic['Fn::GetAtt'] as [string, string] | undefined;
    if (getAtt) return getAtt[1] === 'Arn' ? getAtt[0] : `${getAtt[0]}.${getAtt[1]}`;
    if (typeof intrinsic.Ref === 'string') return intrinsic.Ref;
    const sub = intrinsic['Fn::Sub'];
    if (typeof sub === 'string') {
      return resourceName(
        sub.replace(/\$\{([A-Za-z0-9]+)\.Arn\}/g, '$1').replace(PSEUDO, (_, name: string) => `<${name}>`),
      );
    }
    const join = intrinsic['Fn::Join'] as [string, unknown[]] | undefined;
    if (join)
      return resourceName(join[1].map((part) => (typeof part === 'string' ? part : '')).join(join[0]));
  }
  return JSON.stringify(resource);
}

/** Every (action, resource) pair a role's Allow statements grant, as `action resource` strings. */
export function grants(statements: Statement[]): string[] {
  return statements
    .filter((statement) => statement.Effect === 'Allow')
    .flatMap((statement) =>
      asArray(statement.Action).flatMap((action) =>
        asArray(statement.Resource).map((resource) => `${action} ${resourceName(resource)}`),
      ),
    )
    .sort();
}
