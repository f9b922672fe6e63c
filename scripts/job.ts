// `npm run job -- NAME [--detail JSON] [--stage STAGE]`: runs a scheduled function of the running
// local stack (`npm run dev`) now, with the event its schedule would send, and prints the result.
// LAMBDA_PORT (default 3002) or LAMBDA_URL says where serverless-offline's Lambda API listens.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import yaml from 'js-yaml';
import { localAccountId, localRegion } from './local/aws-local';
import { loadLocalEnvFile } from './local/env-file';
import { lambdaApiInvoker } from './local/invoker';
import { projectRoot } from './local/service-config';

interface Options {
  name: string | undefined;
  detail: Record<string, unknown>;
  stage: string;
}

class UsageError extends Error {}

function parseArgs(argv: string[]): Options {
  const options: Options = { name: undefined, detail: {}, stage: 'local' };
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index] as string;
    if (arg === '--detail') {
      const value = argv[++index];
      let detail: unknown;
      try {
        detail = JSON.parse(value ?? '');
      } catch {
        throw new UsageError('--detail takes a JSON object, e.g. --detail \'{"maxMessages":10}\'');
      }
      if (detail === null || typeof detail !== 'object' || Array.isArray(detail))
        throw new UsageError('--detail takes a JSON object');
      options.detail = detail as Record<string, unknown>;
    } else if (arg === '--stage') {
      options.stage = argv[++index] ?? options.stage;
    } else if (arg.startsWith('-')) {
      throw new UsageError(`unknown option ${arg}`);
    } else if (options.name === undefined) {
      options.name = arg;
    } else {
      throw new UsageError(`one job at a time (got ${options.name} and ${arg})`);
    }
  }
  return options;
}

interface FunctionsConfig {
  service: string;
  functions: Record<string, { name?: unknown; events?: Array<Record<string, unknown>> | string }>;
}

// CloudFormation's short forms (!Ref, !GetAtt, !Sub…) as opaque values: only the function keys, their
// events and names are read here.
const cfnTags = [
  'Ref',
  'GetAtt',
  'Sub',
  'Join',
  'Select',
  'Split',
  'If',
  'Equals',
  'Not',
  'And',
  'Or',
  'FindInMap',
  'Base64',
  'Cidr',
  'ImportValue',
  'GetAZs',
  'Condition',
].flatMap((tag) =>
  (['scalar', 'sequence', 'mapping'] as const).map(
    (kind) => new yaml.Type(`!${tag}`, { kind, construct: (data: unknown) => ({ [tag]: data }) }),
  ),
);

const loadYaml = (file: string) =>
  yaml.load(readFileSync(file, 'utf8'), { schema: yaml.DEFAULT_SCHEMA.extend(cfnTags) }) as unknown;

/** `${file(./infra/functions/x.yml)}`, the form serverless.yml includes its function files with. */
const FILE_REFERENCE = /^\$\{file\((.+?)\)\}$/;

/**
 * The functions serverless.yml declares, inline or in the files it includes. Read from the files
 * themselves (fast: no `serverless print`), which is enough for names and event kinds; a function's
 * deployed name is `<service>-<stage>-<key>` unless it sets `name`.
 */
export function readFunctions(file = path.join(projectRoot, 'serverless.yml')): FunctionsConfig {
  const document = loadYaml(file) as { service?: unknown; functions?: unknown };
  const parts = Array.isArray(document.functions) ? document.functions : [document.functions ?? {}];
  const functions: FunctionsConfig['functions'] = {};
  for (const part of parts) {
    const reference = typeof part === 'string' ? FILE_REFERENCE.exec(part) : null;
    const included = reference ? loadYaml(path.resolve(path.dirname(file), reference[1] as string)) : part;
    Object.assign(functions, included as FunctionsConfig['functions']);
  }
  return { service: String(document.service), functions };
}

/** Functions with a schedule event, by their key in serverless.yml. */
export function scheduledFunctions(config: FunctionsConfig): string[] {
  return (
    Object.entries(config.functions)
      // Generated event lists (a `${file(…)}` string) hold no schedules.
      .filter(([, fn]) => Array.isArray(fn.events) && fn.events.some((event) => event.schedule !== undefined))
      .map(([key]) => key)
      .sort()
  );
}

function lambdaEndpoint(): URL {
  if (process.env.LAMBDA_URL) return new URL(process.env.LAMBDA_URL);
  const port = Number(process.env.LAMBDA_PORT ?? 3002);
  if (!Number.isInteger(port) || port <= 0 || port > 65_535)
    throw new UsageError('LAMBDA_PORT must be a port number');
  return new URL(`http://127.0.0.1:${port}`);
}

const listening = (url: URL) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect({ host: url.hostname, port: Number(url.port || 80) }, () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/** The event EventBridge sends for a schedule (what serverless-offline sends too). */
function scheduledEvent(functionName: string, detail: Record<string, unknown>) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: localAccountId,
    time: new Date().toISOString(),
    region: localRegion,
    resources: [`arn:aws:events:${localRegion}:${localAccountId}:rule/${functionName}-on-demand`],
    detail,
  };
}

async function main(): Promise<number> {
  loadLocalEnvFile(projectRoot);
  const options = parseArgs(process.argv.slice(2));
  const endpoint = lambdaEndpoint();
  const config = readFunctions();
  const jobs = scheduledFunctions(config);
  if (!options.name) throw new UsageError(`name a job: npm run job -- NAME (one of: ${jobs.join(', ')})`);
  if (!jobs.includes(options.name)) {
    const known = config.functions[options.name]
      ? `${options.name} is not a scheduled function`
      : `no function ${options.name}`;
    throw new UsageError(`${known}; the jobs are: ${jobs.join(', ')}`);
  }
  if (!(await listening(endpoint))) {
    console.error(
      `The local stack is not running: nothing listens on ${endpoint.host} (serverless-offline's Lambda API). Start it with \`npm run dev\`, or set LAMBDA_PORT / LAMBDA_URL to where it listens.`,
    );
    return 1;
  }
  const declared = config.functions[options.name]?.name;
  // A literal `name:` in serverless.yml wins; otherwise the Framework's default.
  const functionName =
    typeof declared === 'string' && !declared.includes('${')
      ? declared
      : `${config.service}-${options.stage}-${options.name}`;
  const invoke = lambdaApiInvoker(endpoint.origin, () => functionName);
  try {
    const started = Date.now();
    const result = await invoke(options.name, scheduledEvent(functionName, options.detail));
    if (!result.ok) {
      console.error(`${options.name} failed: ${result.error}`);
      return 1;
    }
    console.log(JSON.stringify(result.payload, null, 2));
    console.error(`${options.name} finished in ${Date.now() - started} ms`);
    return 0;
  } finally {
    invoke.close();
  }
}

if (require.main === module) {
  main()
    .then((code) => process.exit(code))
    .catch((error: Error) => {
      console.error(error instanceof UsageError ? error.message : `job failed: ${error.message}`);
      process.exit(error instanceof UsageError ? 2 : 1);
    });
}
