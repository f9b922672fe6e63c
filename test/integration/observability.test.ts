import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { adminToken, api } from '../support/api';
import { registerTestDevice } from '../support/devices';
import { testLogFile } from '../support/paths';
import { eventually } from '../support/sqs';

// What the functions print while the stack serves real traffic (the log of the whole test run so far):
// structured JSON logs with a correlation id from ingest to consumer, EMF metrics, and never the
// readings' contents, passwords or tokens.
type LogLine = Record<string, unknown>;

const logLines = (): LogLine[] =>
  readFileSync(testLogFile, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as LogLine];
      } catch {
        return [];
      }
    });

const metricNames = (line: LogLine) =>
  (
    (line._aws as { CloudWatchMetrics?: Array<{ Metrics: Array<{ Name: string }> }> } | undefined)
      ?.CloudWatchMetrics ?? []
  ).flatMap((set) => set.Metrics.map((metric) => metric.Name));

/** The ingest log line of a batch, and the consumer's line that names its correlation id. */
function consumerLineOf(batchId: string): { accepted: LogLine; stored: LogLine } | undefined {
  const lines = logLines();
  const accepted = lines.find((line) => line.message === 'readings accepted' && line.batchId === batchId);
  const correlationId = accepted?.correlationId;
  if (!accepted || typeof correlationId !== 'string') return undefined;
  const stored = lines.find(
    (line) =>
      line.message === 'readings stored' &&
      (line.correlationIds as string[] | undefined)?.includes(correlationId),
  );
  return stored ? { accepted, stored } : undefined;
}

describe('function logs and metrics of a full round trip', () => {
  const marker = `SECRET-READING-${randomBytes(8).toString('hex')}`;
  const password = `pw-${randomBytes(8).toString('hex')}`;
  const wrongPassword = `wrong-${randomBytes(8).toString('hex')}`;
  let device: { deviceId: string; token: string };
  let batchId: string;

  beforeAll(async () => {
    device = await registerTestDevice();
    const put = await api<{ ids: string[] }>('PUT', '/api/iot', {
      token: device.token,
      body: [
        { data: { db_password: password, relative_time: 1, freeform: { note: marker } } },
        { data: { relative_time: 2, freeform: marker } },
      ],
    });
    expect(put.status).toBe(202);
    batchId = (put.body.ids[0] as string).replace(/-0$/, '');
    await eventually(async () => {
      const rows = await api<{ data: Array<{ freeform: unknown }> }>('POST', '/api/iot', {
        token: device.token,
        body: { data: { db_password: password } },
      });
      expect(rows.body.data.map((row) => row.freeform)).toEqual([{ note: marker }, marker]);
    });
    const denied = await api('POST', '/api/iot', {
      token: device.token,
      body: { data: { db_password: wrongPassword } },
    });
    expect(denied.status).toBe(403);
    const badToken = await api('GET', '/api/iot/maxtime', { token: `${device.deviceId}.${marker}` });
    expect(badToken.status).toBe(401);
    // Everything above is logged by now; give the pipe to the log file a moment.
    await eventually(() => Promise.resolve(expect(consumerLineOf(batchId)).toBeDefined()));
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }, 60_000);

  it('never logs readings, passwords or tokens', async () => {
    const log = readFileSync(testLogFile, 'utf8');
    expect(log.length).toBeGreaterThan(0);
    for (const secret of [
      marker,
      password,
      wrongPassword,
      device.token,
      device.token.slice(device.deviceId.length + 1),
      adminToken(),
    ]) {
      expect(log).not.toContain(secret);
    }
  });

  it('carries the API request id to the consumer as the correlation id', () => {
    const { accepted, stored } = consumerLineOf(batchId) ?? {};
    expect(accepted).toMatchObject({
      function_name: 'sensorcloud-local-ingest-readings',
      route: 'PUT /api/iot',
      correlationId: expect.stringMatching(/./),
    });
    expect(stored).toMatchObject({ function_name: 'sensorcloud-local-consume-readings', level: 'INFO' });
  });

  it('logs, once per invocation, the count and duration of each AWS call (ingest → SQS, consumer → DynamoDB)', () => {
    const { accepted, stored } = consumerLineOf(batchId) ?? {};
    const callsOf = (line: LogLine | undefined) =>
      logLines().find(
        (candidate) =>
          candidate.message === 'aws calls' &&
          candidate.function_request_id === line?.function_request_id &&
          candidate.function_name === line?.function_name,
      )?.awsCalls;
    expect(callsOf(accepted)).toMatchObject({
      'SQS.SendMessageBatch': { count: 1, ms: expect.any(Number) },
    });
    expect(callsOf(stored)).toMatchObject({
      'DynamoDB.BatchWriteItem': { count: expect.any(Number), ms: expect.any(Number) },
    });
  });

  it('emits the pipeline metrics in Embedded Metric Format', async () => {
    const emitted = logLines().filter((line) => line._aws !== undefined);
    const names = new Set(emitted.flatMap(metricNames));
    for (const name of [
      'ReadingsAccepted',
      'ReadingsStored',
      'MessagesStored',
      'BatchItemFailures',
      'Requests',
      'Rejected',
    ])
      expect(names).toContain(name);
    const ingestRequests = emitted.find(
      (line) =>
        metricNames(line).includes('Requests') && line.function === 'sensorcloud-local-ingest-readings',
    );
    expect(ingestRequests?._aws).toMatchObject({
      CloudWatchMetrics: [{ Namespace: 'sensorcloud/local', Dimensions: [['service', 'function']] }],
    });
    const accepted = emitted.find((line) => metricNames(line).includes('ReadingsAccepted'));
    expect(accepted).toMatchObject({
      service: 'sensorcloud',
      _aws: { CloudWatchMetrics: [{ Namespace: 'sensorcloud/local', Dimensions: [['service']] }] },
    });
  });

  it('emits the image metrics that the image-rejects alarm watches', async () => {
    const camera = await registerTestDevice('metrics-camera');
    const upload = (key: string, body: Buffer) =>
      api('PUT', `/api/images/${key}`, {
        token: camera.token,
        rawBody: body,
        headers: { 'content-type': 'application/octet-stream' },
      });
    const stamp = randomBytes(4).toString('hex');
    const image = await sharp({
      create: { width: 32, height: 32, channels: 3, background: '#808080' },
    })
      .png()
      .toBuffer();
    expect((await upload(`metrics-good-${stamp}`, image)).status).toBe(202);
    expect((await upload(`metrics-bad-${stamp}`, Buffer.from('not an image'))).status).toBe(202);
    const imageMetric = (name: string) =>
      logLines().find((line) => line._aws !== undefined && metricNames(line).includes(name));
    const [processed, rejected, timing] = await eventually(async () => {
      const found = ['ImagesProcessed', 'ImagesRejected', 'ImageProcessingMs'].map(imageMetric);
      expect(found.every((line) => line !== undefined)).toBe(true);
      return found as LogLine[];
    });
    for (const line of [processed, rejected, timing]) {
      // Namespace and dimensions exactly as the alarm (infra/resources/alarms.yml) reads them.
      expect(line).toMatchObject({
        service: 'sensorcloud',
        _aws: { CloudWatchMetrics: [{ Namespace: 'sensorcloud/local', Dimensions: [['service']] }] },
      });
    }
    expect(rejected?.ImagesRejected).toBeGreaterThanOrEqual(1);
    expect(timing?.ImageProcessingMs).toEqual(expect.any(Number));
  }, 60_000);
});
