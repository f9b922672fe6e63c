import { randomBytes } from 'node:crypto';
import { adminToken, api } from './api';

export interface TestDevice {
  deviceId: string;
  token: string;
}

/** Registers a fresh device through the admin API (unique per call, so tests never share data). */
export async function registerTestDevice(name = 'test device'): Promise<TestDevice> {
  const deviceId = `t_${randomBytes(8).toString('hex')}`;
  const response = await api<{ deviceId: string; token: string }>('POST', '/api/devices', {
    token: adminToken(),
    body: { deviceId, name },
  });
  if (response.status !== 201)
    throw new Error(`device registration failed: ${response.status} ${response.text}`);
  return { deviceId: response.body.deviceId, token: response.body.token };
}

export const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
