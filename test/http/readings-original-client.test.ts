import { api } from '../support/api';
import { basic, registerTestDevice, type TestDevice } from '../support/devices';
import { eventually } from '../support/sqs';

// The IoT Sensor Framework's own client flow (database/insert.sh then retrieve.sh), unchanged but for
// the base URL and the device credential: 100 single PUTs and one list PUT of 2 to /api/rssi with
// password abc123, then POST /api/rssi and POST /api/rssi/100/150.
const RELTIME = -499_900; // reading i has relative time RELTIME + i*500000, so i=1 falls in [100, 150]
const INTEROTIME = 1_395_139_159_123_456;
const PASSWORD = 'abc123';

const reading = (i: number) => ({
  data: {
    db_password: PASSWORD,
    relative_time: RELTIME + i * 500_000,
    interrogator_time: String(INTEROTIME + i),
    freeform: { rssi: -60 + i, epc96: 'e2801160600002054c8f5a6f' },
  },
});

type Row = {
  id: string;
  absolute_timestamp: string;
  relative_timestamp: number;
  interrogator_timestamp: number;
  freeform: unknown;
};

describe('an unmodified original client (insert.sh / retrieve.sh) against /api/rssi', () => {
  let device: TestDevice;
  const acceptedIds: string[] = [];

  beforeAll(async () => {
    device = await registerTestDevice('interrogator');
    // python requests sends https://deviceId:token@host as Basic credentials; half use that, half Bearer.
    const auth = (i: number) => (i % 2 ? basic(device.deviceId, device.token) : `Bearer ${device.token}`);
    for (let i = 1; i <= 100; i += 1) {
      const response = await api<{ success: string; ids: string[] }>('PUT', '/api/rssi', {
        body: reading(i),
        headers: { authorization: auth(i), 'content-type': 'application/json; charset=UTF-8' },
      });
      expect(response.status).toBe(202);
      expect(response.body.success).toBe('1 object(s) accepted');
      acceptedIds.push(...response.body.ids);
    }
    const list = await api<{ success: string; ids: string[] }>('PUT', '/api/rssi', {
      body: [reading(101), reading(102)],
      headers: { authorization: auth(0) },
    });
    expect(list.status).toBe(202);
    expect(list.body.success).toBe('2 object(s) accepted');
    acceptedIds.push(...list.body.ids);
  });

  it('gets every reading back exactly once, decrypted, ordered by interrogator timestamp', async () => {
    const rows = await eventually(
      async () => {
        const response = await api<{ data: Row[] }>('POST', '/api/rssi', {
          token: device.token,
          body: { data: { db_password: PASSWORD } },
        });
        expect(response.status).toBe(200);
        expect(response.body.data).toHaveLength(102);
        return response.body.data;
      },
      { timeoutMs: 30_000 },
    );
    expect(rows.map((row) => row.id).sort()).toEqual([...acceptedIds].sort());
    rows.forEach((row, index) => {
      const i = index + 1;
      expect(row).toEqual({
        id: expect.any(String),
        absolute_timestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/),
        relative_timestamp: RELTIME + i * 500_000,
        interrogator_timestamp: INTEROTIME + i,
        freeform: { rssi: -60 + i, epc96: 'e2801160600002054c8f5a6f' },
      });
    });
  });

  it('answers the relative-time window /100/150 (both ends inclusive) like retrieve.sh', async () => {
    const response = await api<{ data: Row[] }>('POST', '/api/rssi/100/150', {
      headers: { authorization: basic(device.deviceId, device.token) },
      body: { data: { db_password: PASSWORD } },
    });
    expect(response.status).toBe(200);
    expect(response.body.data.map((row) => row.relative_timestamp)).toEqual([100]);
    expect(response.body.data[0]?.freeform).toEqual({ rssi: -59, epc96: 'e2801160600002054c8f5a6f' });
  });

  it('serves the same data under /api/iot, and maxtime', async () => {
    const since = await api<{ data: Row[] }>('POST', `/api/iot/${RELTIME + 100 * 500_000}`, {
      token: device.token,
      body: { data: { db_password: PASSWORD } },
    });
    expect(since.body.data.map((row) => row.interrogator_timestamp)).toEqual([
      INTEROTIME + 100,
      INTEROTIME + 101,
      INTEROTIME + 102,
    ]);
    const max = await api('GET', '/api/iot/maxtime', { token: device.token });
    expect(max.body).toEqual({ data: [{ max_relative_timestamp: RELTIME + 102 * 500_000 }] });
  });
});
