import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type InvokeResult, lambdaApiInvoker } from '../../scripts/local/invoker';

// Runs the stack's functions as their event sources would: through serverless-offline's Lambda
// Invoke API (RequestResponse), with the event EventBridge sends for a schedule.
const invoker = () =>
  lambdaApiInvoker(process.env.SENSORCLOUD_LAMBDA_URL as string, (key) => `sensorcloud-local-${key}`);

export const scheduledEvent = (detail: Record<string, unknown> = {}, time = new Date()) => ({
  version: '0',
  id: randomUUID(),
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '000000000000',
  time: time.toISOString(),
  region: 'us-east-1',
  resources: [],
  detail,
});

export async function invokeFunction(functionKey: string, event: unknown): Promise<InvokeResult> {
  const invoke = invoker();
  try {
    return await invoke(functionKey, event);
  } finally {
    invoke.close();
  }
}

/** Runs a scheduled job now and returns its result, failing the test if the job failed. */
export async function runJob<T>(name: string, detail: Record<string, unknown> = {}, time?: Date): Promise<T> {
  const result = await invokeFunction(name, scheduledEvent(detail, time));
  if (!result.ok) throw new Error(`${name} failed: ${result.error}`);
  return result.payload as T;
}

export interface AlertLine {
  type: 'device.silent' | 'device.recovered';
  deviceId: string;
  at: string;
  lastSeenAt: string | null;
  expectedIntervalSeconds: number;
  stage: string;
  subject: string;
}

/** The alerts the stack published so far (offline they are JSON lines in LOCAL_ALERTS_FILE). */
export function alertsFile(file = process.env.LOCAL_ALERTS_FILE as string): AlertLine[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as AlertLine);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
