import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../../src/lib/aws/dynamo';
import { MultipartObject } from '../../src/lib/aws/multipart-upload';
import { config } from '../../src/lib/config';
import { TooManyRequestsError } from '../../src/lib/errors';
import { getJob, putJob, releaseSlot, takeSlot } from '../../src/lib/exports/jobs';
import { PartitionedExport, TooManyObjectsError } from '../../src/lib/exports/partitions';
import { runExport } from '../../src/lib/exports/run';
import { sealPassword, unsealPassword } from '../../src/lib/exports/sealed-password';
import { exportStatus } from '../../src/lib/exports/service';
import { readingSortKey } from '../../src/lib/readings/rows';
import { storeMessages } from '../../src/lib/readings/store';
import { adminToken, api } from '../support/api';
import { registerTestDevice, type TestDevice } from '../support/devices';
import { byId, csvRows, download, endedExport, parquetRows, requestExport } from '../support/exports';
import { s3 } from '../support/images';
import { testLogFile } from '../support/paths';
import { sealedMessageV2 as sealedMessage } from '../support/readings';
import { eventually } from '../support/sqs';
import { scanTable } from '../support/tables';

// The export machinery against the stack's emulators: slots, multipart objects, partition files,
// presigned URL expiry, the sealed db_password, tampered rows, the audit trail.

async function objectText(key: string): Promise<Buffer> {
  const { Body } = await s3.send(new GetObjectCommand({ Bucket: config.EXPORTS_BUCKET, Key: key }));
  return Buffer.from(await (Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
}

async function writeAndWait(device: TestDevice, readings: unknown[], visible: number) {
  const response = await api('PUT', '/api/iot', { token: device.token, body: readings });
  expect(response.status).toBe(202);
  await eventually(async () => {
    const page = await api<{ data: unknown[]; hidden?: number }>('POST', '/api/iot', { token: device.token });
    expect(page.body.data.length + (page.body.hidden ?? 0)).toBe(visible);
  });
}

const row = (device: string, day: string, id: string) => ({
  id,
  absolute_timestamp: `${day} 12:00:00`,
  relative_timestamp: 1,
  interrogator_timestamp: 2,
  freeform: { id },
  device_id: device,
});

describe('exports through the local stack', () => {
  it('gives a caller at most EXPORT_MAX_CONCURRENT slots, takes back released and expired ones', async () => {
    const owner = `owner-${randomUUID()}`;
    const holders = Array.from({ length: config.EXPORT_MAX_CONCURRENT }, () => randomUUID());
    const slots = [];
    for (const holder of holders) slots.push(await takeSlot(owner, holder));
    expect(new Set(slots).size).toBe(holders.length);
    await expect(takeSlot(owner, randomUUID())).rejects.toBeInstanceOf(TooManyRequestsError);
    // Released by another export's id: nothing changes.
    await releaseSlot(slots[0] as string, randomUUID());
    await expect(takeSlot(owner, randomUUID())).rejects.toBeInstanceOf(TooManyRequestsError);
    await releaseSlot(slots[0] as string, holders[0] as string);
    expect(await takeSlot(owner, randomUUID())).toBe(slots[0]);
    // A worker that died: its lease runs out and the slot is taken over.
    await dynamo.send(
      new UpdateCommand({
        TableName: config.EXPORTS_TABLE,
        Key: { exportId: slots[1] },
        UpdateExpression: 'SET leaseUntil = :past',
        ExpressionAttributeValues: { ':past': Date.now() - 1 },
      }),
    );
    expect(await takeSlot(owner, randomUUID())).toBe(slots[1]);
  });

  it('answers 429 over HTTP when a device has too many exports queued or running', async () => {
    const device = await registerTestDevice();
    // Hold the device's slots as running exports would.
    for (let place = 0; place < config.EXPORT_MAX_CONCURRENT; place += 1)
      await takeSlot(device.deviceId, randomUUID());
    const response = await api<{ error: { code: string; message: string } }>('POST', '/api/exports', {
      token: device.token,
      body: { format: 'csv' },
    });
    expect(response.status).toBe(429);
    expect(response.body.error.code).toBe('TooManyRequests');
    expect(response.headers.get('retry-after')).toBe('30');
  });

  it('writes a multipart object larger than a part, byte for byte', async () => {
    const key = `exports/test-${randomUUID()}/big.bin`;
    const object = new MultipartObject(
      config.EXPORTS_BUCKET,
      key,
      'application/octet-stream',
      5 * 1024 * 1024,
    );
    const chunks = Array.from({ length: 13 }, () => randomBytes(1024 * 1024 - 7));
    for (const chunk of chunks) await object.write(chunk);
    await object.end();
    expect((await objectText(key)).equals(Buffer.concat(chunks))).toBe(true);
  });

  it('writes one file per device and day, a later row of a closed day starting its next part', async () => {
    const exportId = randomUUID();
    const out = new PartitionedExport(exportId, 'csv');
    // Four days in turn (at most three files are open), then the first day again.
    for (const [index, day] of [
      '2026-01-01',
      '2026-01-02',
      '2026-01-03',
      '2026-01-04',
      '2026-01-01',
    ].entries()) {
      await out.add(row('d1', day, `r${index}`));
    }
    await out.finishAll();
    expect(out.objects.map((object) => `${object.key} ${object.rows}`)).toEqual([
      `exports/${exportId}/device=d1/day=2026-01-01/part-00000.csv 1`,
      `exports/${exportId}/device=d1/day=2026-01-02/part-00000.csv 1`,
      `exports/${exportId}/device=d1/day=2026-01-03/part-00000.csv 1`,
      `exports/${exportId}/device=d1/day=2026-01-04/part-00000.csv 1`,
      `exports/${exportId}/device=d1/day=2026-01-01/part-00001.csv 1`,
    ]);
    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: config.EXPORTS_BUCKET, Prefix: `exports/${exportId}/` }),
    );
    expect(listed.KeyCount).toBe(5);
    const last = csvRows((await objectText(out.objects[4]?.key as string)).toString('utf8'));
    expect(last.map((r) => r.id)).toEqual(['r4']);

    const limited = new PartitionedExport(randomUUID(), 'parquet', 2);
    await limited.add(row('d1', '2026-01-01', 'a'));
    await limited.add(row('d1', '2026-01-02', 'b'));
    await expect(limited.add(row('d1', '2026-01-03', 'c'))).rejects.toBeInstanceOf(TooManyObjectsError);
    await limited.abort();
  });

  it('refuses a presigned download URL once its TTL has passed', async () => {
    const device = await registerTestDevice();
    await writeAndWait(device, [{ data: { relative_time: 1, freeform: 'x' } }], 1);
    const id = await requestExport(device.token, { format: 'csv' });
    expect((await endedExport(device.token, id)).status).toBe('done');
    const principal = { role: 'device', deviceId: device.deviceId } as const;
    const fresh = await exportStatus(principal, id, 60);
    expect(
      csvRows(Buffer.from(await download(fresh.files?.[0]?.url as string)).toString('utf8')),
    ).toHaveLength(1);
    const shortLived = await exportStatus(principal, id, 1);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const expired = await fetch(shortLived.files?.[0]?.url as string);
    expect(expired.status).toBe(403);
    expect(await expired.text()).not.toContain('"x"');
  });

  it('seals a db_password to its export: never stored in plaintext, unusable under another id, removed at the end', async () => {
    const device = await registerTestDevice();
    const password = `export-pw-${randomBytes(8).toString('hex')}`;
    await writeAndWait(
      device,
      [{ data: { relative_time: 1, freeform: 'secret row', db_password: password } }],
      1,
    );

    const exportId = randomUUID();
    const sealed = await sealPassword(exportId, password);
    for (const part of [sealed.wrappedKey, sealed.iv, sealed.ciphertext]) {
      expect(Buffer.from(part).includes(Buffer.from(password))).toBe(false);
    }
    expect(await unsealPassword(exportId, sealed)).toBe(password);
    await expect(unsealPassword(randomUUID(), sealed)).rejects.toThrow();

    const id = await requestExport(device.token, { format: 'parquet', db_password: password });
    const view = await endedExport(device.token, id);
    expect(view).toMatchObject({ status: 'done', rows: 1, hidden: 0 });
    const job = await getJob(id);
    expect(job?.sealedPassword).toBeUndefined();
    const { rows } = await parquetRows(await download(view.files?.[0]?.url as string));
    expect(rows.map((r) => r.freeform)).toEqual(['secret row']);

    for (const table of [config.EXPORTS_TABLE, config.AUDIT_TABLE, config.DEVICES_TABLE]) {
      expect(await scanTable(table)).not.toContain(password);
    }
    for (const file of view.files ?? [])
      expect((await objectText(file.key)).includes(Buffer.from(password))).toBe(false);
    expect(readFileSync(testLogFile, 'utf8')).not.toContain(password);
  });

  it('fails an export naming the readings that fail authentication, instead of leaving them out', async () => {
    // A device no listing shows (not registered), so no export of all devices running meanwhile meets
    // its tampered reading; stored in the row layout (one item per reading, which the query API still
    // reads), where one reading can be tampered with alone.
    const deviceId = `x_${randomBytes(8).toString('hex')}`;
    const message = await sealedMessage(deviceId, 3, 1);
    expect(
      await storeMessages([{ messageId: randomUUID(), body: JSON.stringify(message) }], Date.now() + 20_000),
    ).toEqual([]);
    const victim = message.readings[1] as { id: string; rt: number };
    const key = { deviceId, sk: readingSortKey(victim.rt, victim.id) };
    const { Item } = await dynamo.send(new GetCommand({ TableName: config.READINGS_TABLE, Key: key }));
    const ct = Buffer.from(Item?.ct as Uint8Array);
    ct[0] = (ct[0] as number) ^ 0xff;
    await dynamo.send(
      new UpdateCommand({
        TableName: config.READINGS_TABLE,
        Key: key,
        UpdateExpression: 'SET ct = :ct',
        ExpressionAttributeValues: { ':ct': ct },
      }),
    );
    const exportId = randomUUID();
    await putJob({
      exportId,
      owner: deviceId,
      device: deviceId,
      format: 'csv',
      window: {},
      status: 'queued',
      slot: await takeSlot(deviceId, exportId),
      createdAt: Date.now(),
    });
    await runExport(exportId, false);
    const view = await exportStatus({ role: 'device', deviceId }, exportId);
    expect(view.status).toBe('failed');
    expect(view.error?.unreadable).toEqual([victim.id]);
    expect(view.error?.message).toMatch(/failed authentication/);
    expect(view.files).toBeUndefined();
  });

  it('fails an export beyond EXPORT_MAX_ROWS with a clear error and gives its slot back', async () => {
    const device = await registerTestDevice();
    await writeAndWait(
      device,
      [1, 2, 3].map((relative_time) => ({ data: { relative_time } })),
      3,
    );
    // The worker in-process with a small limit; the job is recorded without a queue message.
    process.env.EXPORT_MAX_ROWS = '2';
    let run: typeof import('../../src/lib/exports/run') | undefined;
    jest.isolateModules(() => {
      run = require('../../src/lib/exports/run');
    });
    delete process.env.EXPORT_MAX_ROWS;
    const exportId = randomUUID();
    const slot = await takeSlot(device.deviceId, exportId);
    await putJob({
      exportId,
      owner: device.deviceId,
      device: device.deviceId,
      format: 'csv',
      window: {},
      status: 'queued',
      slot,
      createdAt: Date.now(),
    });
    await run?.runExport(exportId, false);
    const job = await getJob(exportId);
    expect(job).toMatchObject({ status: 'failed', error: { code: 'ValidationError' } });
    expect(job?.error?.message).toMatch(/more than 2 readings; export a narrower window/);
    const { Item } = await dynamo.send(
      new GetCommand({ TableName: config.EXPORTS_TABLE, Key: { exportId: slot } }),
    );
    expect(Item).toBeUndefined();
  });

  it('audits the request and the finished export, with its row count', async () => {
    const device = await registerTestDevice();
    await writeAndWait(device, [{ data: { relative_time: 1 } }, { data: { relative_time: 2 } }], 2);
    const id = await requestExport(device.token, { format: 'csv' });
    await endedExport(device.token, id);
    await eventually(async () => {
      const audit = await api<{
        data: Array<{
          requestId: string;
          actor: string;
          deviceId: string;
          rows: number;
          action: string;
          route: string;
        }>;
      }>('GET', '/api/audit?limit=200', { token: adminToken() });
      const mine = audit.body.data.filter(
        (entry) => entry.action === 'export' && entry.deviceId === device.deviceId,
      );
      expect(byId(mine.map((entry) => ({ ...entry, id: entry.route })))).toEqual([
        expect.objectContaining({ route: 'POST /api/exports', actor: device.deviceId, rows: 0 }),
        expect.objectContaining({ route: 'export-readings', requestId: id, actor: device.deviceId, rows: 2 }),
      ]);
    });
  });
});
