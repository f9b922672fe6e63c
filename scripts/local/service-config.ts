import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const projectRoot = path.resolve(__dirname, '..', '..');
export const slsBin = path.join(path.dirname(require.resolve('osls/package.json')), 'bin', 'serverless.js');

// Environment that keeps the Serverless CLI from phoning home (nothing beyond the npm registry is reachable).
// Deprecation notices stay on: they name configuration to fix.
export const quietSlsEnv = {
  SLS_TELEMETRY_DISABLED: '1',
  SLS_NOTIFICATIONS_MODE: 'off',
};

type Intrinsic = { Ref: string } | { 'Fn::GetAtt': [string, string] } | Record<string, unknown>;

export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
}

export interface SqsEventConfig {
  arn: string | Intrinsic;
  batchSize?: number;
  maximumBatchingWindow?: number;
  functionResponseType?: string;
  enabled?: boolean;
}

/** A bucket's CORS rule as CloudFormation declares it. */
export interface CorsRule {
  AllowedOrigins: string[];
  AllowedMethods: string[];
  AllowedHeaders?: string[];
  ExposedHeaders?: string[];
  MaxAge?: number;
}

export interface S3EventConfig {
  bucket: string;
  event: string;
  rules?: Array<{ prefix?: string; suffix?: string }>;
  existing?: boolean;
}

export interface FunctionEvent {
  http?: unknown;
  sqs?: SqsEventConfig | string;
  s3?: S3EventConfig | string;
  schedule?: unknown;
}

export interface FunctionConfig {
  name: string;
  handler: string;
  timeout?: number;
  reservedConcurrency?: number;
  environment?: Record<string, unknown>;
  events: FunctionEvent[];
  /** Asynchronous invocations' destinations (`{type: sqs, arn: …}` or an ARN). */
  destinations?: { onFailure?: unknown };
}

/** The resolved serverless.yml, as `serverless print` sees it for a stage. */
export interface ServiceConfig {
  service: string;
  provider: {
    stage: string;
    timeout?: number;
    environment?: Record<string, unknown>;
    s3?: Record<string, { name: string; corsConfiguration?: { CorsRules: CorsRule[] } }>;
  };
  functions: Record<string, FunctionConfig>;
  resources: { Resources: Record<string, CfnResource> };
}

/** Resolves serverless.yml with the real CLI, so the local stack reads exactly what AWS would get. */
export async function printServiceConfig(stage: string, env: NodeJS.ProcessEnv): Promise<ServiceConfig> {
  const { stdout } = await run(process.execPath, [slsBin, 'print', '--stage', stage, '--format', 'json'], {
    cwd: projectRoot,
    env: { ...env, ...quietSlsEnv },
    maxBuffer: 16 * 1024 * 1024,
  });
  // The CLI may print notices before the document.
  const start = stdout.indexOf('{');
  const config = JSON.parse(stdout.slice(start)) as ServiceConfig;
  // `print` leaves the stage of the provider block at its default; the functions' names carry the real one.
  config.provider.stage = stage;
  return config;
}

/** Environment variables a function sees: provider-level, then its own (strings only, as in Lambda). */
export function functionEnvironment(config: ServiceConfig, functionKey: string): Record<string, string> {
  const fn = config.functions[functionKey];
  const merged = { ...(config.provider.environment ?? {}), ...(fn?.environment ?? {}) };
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(merged)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
      env[key] = String(value);
  }
  return env;
}

export function resourcesOfType(config: ServiceConfig, type: string): Array<[string, CfnResource]> {
  return Object.entries(config.resources?.Resources ?? {}).filter(([, resource]) => resource.Type === type);
}
