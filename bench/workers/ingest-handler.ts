import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { itemBytes, writeUnits } from '../../src/lib/aws/item-size';
import { lambdaContext } from '../../test/support/lambda-context';
import { readingsBody } from '../lib/readings';
import { median } from '../lib/stats';
import { serveWorker } from '../lib/workers';

// The ingest function's own work per request, without API Gateway or the authorizer: the deployed
// handler is called in this process with the event API Gateway would pass, and enqueues into the
// local SQS emulator as it would into SQS. Wall time is what Lambda bills; CPU time is the work.

export interface HandlerInput {
  deviceId: string;
  sizes: number[];
  callsPerRun: Record<number, number>;
  runs: number;
  password: string;
  /** The device's token, to time the authorizer as well. */
  token: string;
}

export interface SizeResult {
  readings: number;
  mode: 'plain' | 'password';
  /** Median per run. */
  wallMs: number[];
  cpuMs: number[];
  /** Shape of what one request of this size becomes. */
  messages: number;
  messageBytes: number;
  readingItemBytes: number;
  readingWriteUnits: number;
  arrivalItemBytes: number;
  arrivalWriteUnits: number;
  auditItemBytes: number;
}

const context = () => lambdaContext('ingest-readings', 10_000);

const event = (deviceId: string, body: string): APIGatewayProxyEvent =>
  ({
    httpMethod: 'PUT',
    path: '/api/iot',
    resource: '/api/iot',
    headers: { 'content-type': 'application/json' },
    multiValueHeaders: {},
    body,
    isBase64Encoded: false,
    pathParameters: null,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    requestContext: { requestId: randomUUID(), authorizer: { role: 'device', deviceId } },
  }) as unknown as APIGatewayProxyEvent;

export interface HandlerOutput {
  sizes: SizeResult[];
  /** The authorizer's time per (uncached) call, median per run. */
  authorizerMs: number[];
}

serveWorker<HandlerInput, HandlerOutput>(async (input, progress) => {
  const { handler } = await import('../../src/handlers/ingest-readings');
  const { chunkedMessage } = await import('../../src/lib/readings/messages');
  const { sealRequest } = await import('../../src/lib/readings/ingest');
  const { parseIngestBody, toIncomingReadings } = await import('../../src/lib/readings/wire');
  const { itemsOf } = await import('../../src/lib/readings/store');
  const { rowKey } = await import('../../src/lib/readings/rows');
  const invoke = handler as unknown as (
    e: APIGatewayProxyEvent,
    c: Context,
  ) => Promise<APIGatewayProxyResult>;

  const results: SizeResult[] = [];
  for (const mode of ['plain', 'password'] as const) {
    for (const size of input.sizes) {
      const body = readingsBody(size, 0, mode === 'password' ? input.password : undefined);
      const call = async () => {
        const cpu = process.cpuUsage();
        const started = performance.now();
        const response = await invoke(event(input.deviceId, body), context());
        const wall = performance.now() - started;
        const used = process.cpuUsage(cpu);
        if (response.statusCode !== 202)
          throw new Error(`ingest answered ${response.statusCode}: ${response.body}`);
        return { wall, cpu: (used.user + used.system) / 1000 };
      };
      // Warm: module init, the data key, the password's derived key, the SQS connection.
      for (let index = 0; index < 3; index += 1) await call();
      const wallMs: number[] = [];
      const cpuMs: number[] = [];
      for (let run = 0; run < input.runs; run += 1) {
        const calls = input.callsPerRun[size] ?? 20;
        const walls: number[] = [];
        const cpus: number[] = [];
        for (let index = 0; index < calls; index += 1) {
          const { wall, cpu } = await call();
          walls.push(wall);
          cpus.push(cpu);
        }
        wallMs.push(median(walls));
        cpuMs.push(median(cpus));
      }

      // What a request of this size becomes downstream, built the way ingest and the consumer build it.
      const key = rowKey(
        Buffer.alloc(32, 7),
        input.deviceId,
        mode === 'password' ? Buffer.alloc(32, 9) : undefined,
      );
      const header = { deviceId: input.deviceId, batchId: '0mhx2k3q0AbCdEfGhIjKl', arrivedAt: Date.now() };
      const incoming = toIncomingReadings(parseIngestBody(JSON.parse(body)));
      const { chunks, latest } = sealRequest(
        incoming,
        header,
        new Map([
          [
            incoming[0]?.password,
            mode === 'password' ? { key, verifier: 'AbCdEfGhIjKlMnOpQrStUv' } : { key },
          ],
        ]),
      );
      const audit = {
        requestId: randomUUID(),
        at: Date.now(),
        actor: input.deviceId,
        route: 'PUT /api/iot',
        deviceId: input.deviceId,
        rows: size,
        action: 'write' as const,
      };
      // One message per request (spilled to S3 when over 1 MiB; the bytes are the same either way).
      const message = chunkedMessage({ ...header, keyId: randomUUID(), latest }, chunks, audit);
      const messages = [message];
      const { readings: readingWrites, after } = itemsOf({ ...message, seq: 0, readings: [] });
      const items = [...readingWrites, ...after];
      const readingItems = items.filter((entry) => 'ix' in entry.item);
      const arrivalItems = items.filter((entry) => 'chunks' in entry.item);
      const auditItems = items.filter((entry) => 'entryKey' in entry.item);
      const sum = (list: typeof items, f: (bytes: number) => number) =>
        list.reduce((total, entry) => total + f(itemBytes(entry.item)), 0);
      results.push({
        readings: size,
        mode,
        wallMs,
        cpuMs,
        messages: messages.length,
        messageBytes: messages.reduce(
          (total, message) => total + Buffer.byteLength(JSON.stringify(message)),
          0,
        ),
        readingItemBytes: sum(readingItems, (bytes) => bytes) / readingItems.length,
        readingWriteUnits: sum(readingItems, writeUnits),
        arrivalItemBytes: sum(arrivalItems, (bytes) => bytes),
        arrivalWriteUnits: sum(arrivalItems, writeUnits),
        auditItemBytes: sum(auditItems, (bytes) => bytes),
      });
      progress(
        `  handler, ${size} reading(s)/request, ${mode}: ${median(wallMs).toFixed(2)} ms wall, ${median(cpuMs).toFixed(2)} ms CPU`,
      );
    }
  }
  // The authorizer runs only when API Gateway's cache (per token, 30 s) misses; timed here per call.
  const { handler: authorize } = await import('../../src/handlers/authorize');
  const authorizeEvent = {
    type: 'TOKEN',
    authorizationToken: `Bearer ${input.token}`,
    methodArn: 'arn:aws:execute-api:us-east-1:000000000000:api/local/PUT/api/iot',
  };
  const callAuthorizer = authorize as unknown as (event: typeof authorizeEvent) => Promise<unknown>;
  for (let index = 0; index < 3; index += 1) await callAuthorizer(authorizeEvent);
  const authorizerMs: number[] = [];
  for (let run = 0; run < input.runs; run += 1) {
    const times: number[] = [];
    for (let index = 0; index < 20; index += 1) {
      const started = performance.now();
      await callAuthorizer(authorizeEvent);
      times.push(performance.now() - started);
    }
    authorizerMs.push(median(times));
  }
  return { sizes: results, authorizerMs };
});
