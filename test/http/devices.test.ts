import { adminToken, api } from '../support/api';
import { basic, registerTestDevice } from '../support/devices';
import { eventually } from '../support/sqs';

describe('devices API and the authorizer, over HTTP', () => {
  it('answers 401 JSON without credentials or with bad ones, before any handler runs', async () => {
    for (const authorization of [
      undefined,
      'Bearer nope',
      'Bearer dev_x.y',
      'Basic !!!',
      'Token abc',
      basic('admin', 'wrong'),
    ]) {
      const response = await api('GET', '/api/devices', { headers: authorization ? { authorization } : {} });
      expect(response.status).toBe(401);
      expect(response.body).toEqual({
        error: { code: 'Unauthorized', message: 'Missing or invalid credentials' },
      });
    }
  });

  it('lets the admin register a device and shows its token once, storing only a hash', async () => {
    const created = await api<Record<string, unknown>>('POST', '/api/devices', {
      token: adminToken(),
      body: { name: 'greenhouse 1', expectedIntervalSeconds: 60 },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      deviceId: expect.stringMatching(/^dev_/),
      status: 'active',
      name: 'greenhouse 1',
    });
    const token = created.body.token as string;
    expect(token.startsWith(`${created.body.deviceId}.`)).toBe(true);

    const shown = await api<Record<string, unknown>>('GET', `/api/devices/${created.body.deviceId}`, {
      token: adminToken(),
    });
    expect(shown.status).toBe(200);
    expect(shown.body.token).toBeUndefined();
    expect(shown.text).not.toContain(token.split('.')[1]);
    expect(Object.keys(shown.body)).not.toEqual(expect.arrayContaining(['tokenHash', 'passwordSalt']));
  });

  it('accepts a device by Bearer token and by Basic deviceId:token, and keeps devices out of admin routes', async () => {
    const device = await registerTestDevice();
    for (const authorization of [`Bearer ${device.token}`, basic(device.deviceId, device.token)]) {
      const response = await api('GET', '/api/devices', { headers: { authorization } });
      expect(response.status).toBe(403);
      expect(response.body).toEqual({
        error: { code: 'Forbidden', message: 'This route is for administrators' },
      });
    }
    // Basic credentials whose user does not match the token's device are refused.
    const other = await registerTestDevice();
    const mismatched = await api('GET', '/api/devices', {
      headers: { authorization: basic(other.deviceId, device.token) },
    });
    expect(mismatched.status).toBe(401);
  });

  it('lists devices newest first with a cursor', async () => {
    await registerTestDevice('a');
    await registerTestDevice('b');
    const first = await api<{ data: Array<{ createdAt: string }>; next?: string }>(
      'GET',
      '/api/devices?limit=1',
      {
        token: adminToken(),
      },
    );
    expect(first.status).toBe(200);
    expect(first.body.data).toHaveLength(1);
    expect(first.body.next).toEqual(expect.any(String));
    const second = await api<{ data: Array<{ createdAt: string }> }>(
      'GET',
      `/api/devices?limit=1&cursor=${first.body.next}`,
      { token: adminToken() },
    );
    expect(second.body.data).toHaveLength(1);
    expect((second.body.data[0]?.createdAt ?? '') <= (first.body.data[0]?.createdAt ?? '')).toBe(true);
    const bad = await api('GET', '/api/devices?cursor=garbage', { token: adminToken() });
    expect(bad.status).toBe(400);
  });

  it('rotates a token (old one refused) and revokes a device (token refused)', async () => {
    const device = await registerTestDevice();
    const rotated = await api<{ token: string }>('POST', `/api/devices/${device.deviceId}/token`, {
      token: adminToken(),
    });
    expect(rotated.status).toBe(200);
    expect((await api('GET', '/api/iot/maxtime', { token: device.token })).status).toBe(401);
    expect((await api('GET', '/api/iot/maxtime', { token: rotated.body.token })).status).toBe(200);

    const revoked = await api<{ status: string }>('DELETE', `/api/devices/${device.deviceId}`, {
      token: adminToken(),
    });
    expect(revoked.body.status).toBe('revoked');
    expect((await api('GET', '/api/iot/maxtime', { token: rotated.body.token })).status).toBe(401);
    expect((await api('POST', `/api/devices/${device.deviceId}/token`, { token: adminToken() })).status).toBe(
      404,
    );
  });

  it('rejects bad registrations with 400 and duplicates with 409, changing nothing', async () => {
    for (const body of [{ deviceId: 'has.dot' }, { deviceId: 'x' }, { name: '' }, { extra: 1 }, [1], 'str']) {
      const response = await api<{ error: { code: string } }>('POST', '/api/devices', {
        token: adminToken(),
        body,
      });
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('ValidationError');
    }
    const notJson = await api('POST', '/api/devices', {
      token: adminToken(),
      rawBody: '{"deviceId":',
      headers: { 'content-type': 'application/json' },
    });
    expect(notJson.status).toBe(400);
    expect(notJson.body).toEqual({
      error: { code: 'ValidationError', message: 'Request body is not valid JSON' },
    });
    const device = await registerTestDevice();
    const duplicate = await api('POST', '/api/devices', {
      token: adminToken(),
      body: { deviceId: device.deviceId },
    });
    expect(duplicate.status).toBe(409);
    expect((await api('GET', '/api/devices/no_such_device', { token: adminToken() })).status).toBe(404);
  });

  it("shows a device's latest reading (by its interrogator time when plausible) to admins", async () => {
    const device = await registerTestDevice();
    const shown = () =>
      api<{ latestReading: unknown }>('GET', `/api/devices/${device.deviceId}`, { token: adminToken() });
    expect((await shown()).body.latestReading).toBeNull();
    const taken = Date.UTC(2026, 5, 1, 12, 0, 0);
    const readings = [3, 1, 2].map((minute) => ({
      data: {
        relative_time: minute,
        interrogator_time: String((taken + minute * 60_000) * 1000),
        freeform: {},
      },
    }));
    const accepted = await api<{ ids: string[] }>('PUT', '/api/iot', { token: device.token, body: readings });
    expect(accepted.status).toBe(202);
    await eventually(async () => {
      expect((await shown()).body.latestReading).toEqual({
        time: new Date(taken + 3 * 60_000).toISOString(),
        id: accepted.body.ids[0],
        relative_timestamp: 3,
      });
    });
  });
});
