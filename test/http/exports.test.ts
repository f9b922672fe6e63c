import { adminToken, api } from '../support/api';
import { registerTestDevice, type TestDevice } from '../support/devices';
import {
  byId,
  csvRows,
  download,
  type ExportedRow,
  endedExport,
  parquetRows,
  requestExport,
} from '../support/exports';
import { eventually } from '../support/sqs';

type Row = Omit<ExportedRow, 'device_id'>;

const put = (device: TestDevice, body: unknown) =>
  api<{ ids: string[] }>('PUT', '/api/iot', { token: device.token, body });

/** Every row of the device through the query API (page by page), as the export must hold them. */
async function queried(device: TestDevice, password?: string): Promise<ExportedRow[]> {
  const rows: ExportedRow[] = [];
  let cursor: string | undefined;
  do {
    const response = await api<{ data: Row[]; next?: string }>(
      'POST',
      `/api/iot${cursor ? `?cursor=${cursor}` : ''}`,
      { token: device.token, body: password ? { data: { db_password: password } } : undefined },
    );
    expect(response.status).toBe(200);
    rows.push(...response.body.data.map((row) => ({ ...row, device_id: device.deviceId })));
    cursor = response.body.next;
  } while (cursor);
  return byId(rows);
}

async function storedCount(device: TestDevice, count: number, password?: string) {
  await eventually(async () => expect(await queried(device, password)).toHaveLength(count));
}

// Freeforms that stress both formats: CSV's quoting, unicode outside the BMP, markup, 16 KB values.
const awkward: unknown[] = [
  'plain',
  'comma, "quote", and\r\nCRLF\nLF',
  { html: '<script>alert("x")</script>&amp;', emoji: '😀 naïve 日本語', rtl: 'مرحبا' },
  ['=1+2', '-3', '@cmd', null, true, 1.5, -0.25],
  { nested: { deep: [1, [2, [3]]] }, empty: {}, list: [] },
  { blob: 'a'.repeat(16_370) },
  { blob: 'é'.repeat(8_000) },
  '',
  0,
];

async function writeAwkward(device: TestDevice, password?: string): Promise<number> {
  const readings = awkward.map((freeform, index) => ({
    data: {
      relative_time: index % 2 === 0 ? -1_000_000 - index : 2 ** 40 + index,
      interrogator_time: 1_700_000_000_000_000 + index,
      freeform,
      ...(password ? { db_password: password } : {}),
    },
  }));
  const response = await put(device, readings);
  expect(response.status).toBe(202);
  return readings.length;
}

async function exportedRows(token: string, id: string) {
  const view = await endedExport(token, id);
  expect(view).toMatchObject({ status: 'done' });
  const rows: ExportedRow[] = [];
  for (const file of view.files ?? []) {
    const bytes = await download(file.url);
    const read =
      view.format === 'csv' ? csvRows(Buffer.from(bytes).toString('utf8')) : (await parquetRows(bytes)).rows;
    expect(read).toHaveLength(file.rows);
    for (const row of read) {
      expect(row.device_id).toBe(file.device);
      expect(row.absolute_timestamp.slice(0, 10)).toBe(file.day);
    }
    rows.push(...read);
  }
  return { view, rows: byId(rows) };
}

describe('readings exports over HTTP', () => {
  it.each(['csv', 'parquet'] as const)(
    'exports %s equal row by row to the query API (unicode, markup, 16 KB freeforms, negative times)',
    async (format) => {
      const device = await registerTestDevice();
      const count = await writeAwkward(device);
      await storedCount(device, count);
      const expected = await queried(device);
      const id = await requestExport(device.token, { format });
      const { view, rows } = await exportedRows(device.token, id);
      expect(rows).toEqual(expected);
      expect(view).toMatchObject({ rows: count, deviceId: device.deviceId, format });
      expect(view.hidden).toBe(0);
      for (const file of view.files ?? []) {
        expect(file.key).toMatch(
          new RegExp(
            `^exports/${id}/device=${device.deviceId}/day=\\d{4}-\\d{2}-\\d{2}/part-\\d{5}\\.${format}$`,
          ),
        );
      }
    },
  );

  it('exports only the window asked for (start and end inclusive)', async () => {
    const device = await registerTestDevice();
    const response = await put(
      device,
      [5, 10, 15, 20, 25].map((relative_time) => ({ data: { relative_time, freeform: relative_time } })),
    );
    expect(response.status).toBe(202);
    await storedCount(device, 5);
    const id = await requestExport(device.token, { format: 'csv', start: 10, end: 20 });
    const { rows } = await exportedRows(device.token, id);
    expect(rows.map((row) => row.relative_timestamp).sort((a, b) => a - b)).toEqual([10, 15, 20]);
  });

  it('exports rows sealed with a db_password only when the request carries it', async () => {
    const device = await registerTestDevice();
    const password = `pw-${device.deviceId}`;
    await writeAwkward(device);
    const withPassword = await writeAwkward(device, password);
    await storedCount(device, awkward.length);
    await storedCount(device, awkward.length * 2, password);

    const without = await exportedRows(
      device.token,
      await requestExport(device.token, { format: 'parquet' }),
    );
    expect(without.rows).toEqual(await queried(device));
    expect(without.view.hidden).toBe(withPassword);

    const including = await exportedRows(
      device.token,
      await requestExport(device.token, { format: 'csv', db_password: password }),
    );
    expect(including.rows).toEqual(await queried(device, password));
    expect(including.rows).toHaveLength(awkward.length * 2);
    expect(including.view.hidden).toBe(0);

    const wrong = await api<{ error: { code: string } }>('POST', '/api/exports', {
      token: device.token,
      body: { format: 'csv', db_password: 'not it' },
    });
    expect(wrong.status).toBe(403);
  });

  it('lets an administrator export one device or every device', async () => {
    const [first, second] = [await registerTestDevice(), await registerTestDevice()];
    await put(first, [{ data: { relative_time: 1, freeform: 'first' } }]);
    await put(second, [{ data: { relative_time: 2, freeform: 'second' } }]);
    await storedCount(first, 1);
    await storedCount(second, 1);

    const one = await exportedRows(
      adminToken(),
      await requestExport(adminToken(), { format: 'csv', deviceId: second.deviceId }),
    );
    expect(one.rows).toEqual(await queried(second));

    const all = await exportedRows(
      adminToken(),
      await requestExport(adminToken(), { format: 'parquet', allDevices: true }),
    );
    expect(all.view.deviceId).toBeNull();
    const mine = all.rows.filter(
      (row) => row.device_id === first.deviceId || row.device_id === second.deviceId,
    );
    expect(byId(mine)).toEqual(byId([...(await queried(first)), ...(await queried(second))]));
  });

  it("refuses another device's export id (404) and shows it to an administrator", async () => {
    const [owner, other] = [await registerTestDevice(), await registerTestDevice()];
    const id = await requestExport(owner.token, { format: 'csv' });
    const refused = await api<{ error: { code: string } }>('GET', `/api/exports/${id}`, {
      token: other.token,
    });
    expect(refused.status).toBe(404);
    expect(refused.body.error.code).toBe('NotFound');
    expect((await api('GET', `/api/exports/${id}`, { token: adminToken() })).status).toBe(200);
    expect((await endedExport(owner.token, id)).status).toBe('done');
    const unknown = await api('GET', '/api/exports/00000000-0000-4000-8000-000000000000', {
      token: owner.token,
    });
    expect(unknown.status).toBe(404);
  });

  it('answers bad requests with 4xx JSON errors and queues nothing', async () => {
    const device = await registerTestDevice();
    const other = await registerTestDevice();
    const cases: Array<[string, unknown, number, RegExp]> = [
      [device.token, undefined, 400, /^format: /],
      [device.token, { format: 'xlsx' }, 400, /^format: /],
      [device.token, { format: 'csv', start: 10, end: 5 }, 400, /^end: must not be before start/],
      [device.token, { format: 'csv', end: 5 }, 400, /^start: required when end is given/],
      [device.token, { format: 'csv', start: 1.5 }, 400, /^start: /],
      [device.token, { format: 'csv', start: '1' }, 400, /^start: /],
      [device.token, { format: 'csv', start: 2 ** 60 }, 400, /^start: /],
      [device.token, { format: 'csv', extra: 1 }, 400, /Unrecognized key|unrecognized/i],
      [device.token, { format: 'csv', db_password: 7 }, 400, /^db_password: /],
      [device.token, { format: 'csv', allDevices: true }, 400, /^allDevices: /],
      [device.token, { format: 'csv', deviceId: other.deviceId }, 403, /another device/],
      [adminToken(), { format: 'csv' }, 403, /Administrators address a device/],
      [adminToken(), { format: 'csv', deviceId: 'no such device' }, 400, /^path\.deviceId|deviceId/],
      [adminToken(), { format: 'csv', deviceId: 't_0000000000000000' }, 404, /No device/],
      [adminToken(), { format: 'csv', allDevices: true, db_password: 'x' }, 400, /^db_password: /],
    ];
    for (const [token, body, status, message] of cases) {
      const response = await api<{ error: { code: string; message: string } }>('POST', '/api/exports', {
        token,
        body,
      });
      expect({ body, status: response.status }).toEqual({ body, status });
      expect(response.body.error.message).toMatch(message);
    }
    const notJson = await api('POST', '/api/exports', {
      token: device.token,
      rawBody: '{',
      headers: { 'content-type': 'application/json' },
    });
    expect(notJson.status).toBe(400);
    const badId = await api<{ error: { code: string } }>('GET', '/api/exports/not-a-uuid', {
      token: device.token,
    });
    expect(badId.status).toBe(400);
  });
});
