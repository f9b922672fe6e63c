import { adminToken, api } from '../support/api';
import { registerTestDevice } from '../support/devices';

type Series = {
  series: string;
  deviceId?: string;
  intervalSeconds: number;
  from: string;
  to: string;
  data: unknown[];
};
type ErrorBody = { error: { code: string; message: string } };

describe('GET /api/stats', () => {
  it('gives an admin the global series and any device series', async () => {
    const device = await registerTestDevice();
    const global = await api<Series>('GET', '/api/stats?minutes=15', { token: adminToken() });
    expect(global.status).toBe(200);
    expect(global.body).toMatchObject({ series: 'global', intervalSeconds: 60, data: expect.any(Array) });
    expect(Date.parse(global.body.to) - Date.parse(global.body.from)).toBe(15 * 60_000);

    const ofDevice = await api<Series>('GET', `/api/devices/${device.deviceId}/stats`, {
      token: adminToken(),
    });
    expect(ofDevice.status).toBe(200);
    expect(ofDevice.body).toMatchObject({ series: 'device', deviceId: device.deviceId });
    // The default window is an hour.
    expect(Date.parse(ofDevice.body.to) - Date.parse(ofDevice.body.from)).toBe(60 * 60_000);
  });

  it("gives a device its own series, never another's or the global one", async () => {
    const device = await registerTestDevice();
    const other = await registerTestDevice();
    const own = await api<Series>('GET', '/api/stats?minutes=5', { token: device.token });
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ series: 'device', deviceId: device.deviceId });
    const ownByPath = await api<Series>('GET', `/api/devices/${device.deviceId}/stats`, {
      token: device.token,
    });
    expect(ownByPath.body).toMatchObject({ series: 'device', deviceId: device.deviceId });
    const foreign = await api<ErrorBody>('GET', `/api/devices/${other.deviceId}/stats`, {
      token: device.token,
    });
    expect(foreign.status).toBe(403);
    expect(foreign.body.error.code).toBe('Forbidden');
  });

  it('validates the window and requires credentials', async () => {
    for (const minutes of ['0', '-5', 'soon', '1441', '1.5']) {
      const response = await api<ErrorBody>('GET', `/api/stats?minutes=${minutes}`, { token: adminToken() });
      expect(response.status).toBe(400);
      expect(response.body.error.message).toMatch(/^minutes: /);
    }
    const badDevice = await api<ErrorBody>('GET', '/api/devices/not.a.device/stats', { token: adminToken() });
    expect(badDevice.status).toBe(400);
    expect(badDevice.body.error.message).toBe('deviceId: not a device id');
    const unknown = await api<ErrorBody>('GET', '/api/stats?since=1', { token: adminToken() });
    expect(unknown.status).toBe(400);
    const anonymous = await api<ErrorBody>('GET', '/api/stats');
    expect(anonymous.status).toBe(401);
  });
});
