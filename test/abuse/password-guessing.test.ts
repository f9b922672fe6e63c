import { api } from '../support/api';
import { registerTestDevice, type TestDevice } from '../support/devices';
import { expectSafeResponse } from '../support/responses';
import { eventually } from '../support/sqs';

// Item 8 over HTTP: wrong db_password values are limited per device (429 + Retry-After), and item 11:
// a password is the same whether its accents arrive composed or decomposed.
const MAX_GUESSES = 10; // config.MAX_PASSWORD_GUESSES (default), as the local stack runs it

type Rows = { data: Array<{ freeform: unknown }>; error?: { code: string; message: string } };

const query = (device: TestDevice, password: string) =>
  api<Rows>('POST', '/api/iot', { token: device.token, body: { data: { db_password: password } } });

async function writeWithPassword(device: TestDevice, password: string, freeform: unknown): Promise<void> {
  const response = await api('PUT', '/api/iot', {
    token: device.token,
    body: { data: { relative_time: 1, db_password: password, freeform } },
  });
  expect(response.status).toBe(202);
}

describe('db_password guessing over HTTP', () => {
  it(`answers ${MAX_GUESSES} wrong passwords with 403, then 429 with Retry-After, even for the right one`, async () => {
    const device = await registerTestDevice('guessing');
    await writeWithPassword(device, 'the right one', 'secret row');
    await eventually(async () => {
      expect((await query(device, 'the right one')).body.data).toHaveLength(1);
    });
    for (let guess = 0; guess < MAX_GUESSES; guess += 1) {
      const response = await query(device, `guess ${guess}`);
      expect(response.status).toBe(403);
    }
    for (const password of ['another guess', 'the right one']) {
      const response = await query(device, password);
      expect(response.status).toBe(429);
      expectSafeResponse(response.status, response.headers, response.text);
      expect(response.body).toEqual({ error: { code: 'TooManyRequests', message: expect.any(String) } });
      const retryAfter = Number(response.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(900);
    }
    // Queries without a password are not affected.
    expect((await api<Rows>('POST', '/api/iot', { token: device.token })).status).toBe(200);
  });

  it('reads rows written with a decomposed accent using the composed one (NFC), and back', async () => {
    const device = await registerTestDevice('nfc');
    await writeWithPassword(device, 'cafe\u0301', 'decomposed');
    await writeWithPassword(device, 'caf\u00e9', 'composed');
    const rows = await eventually(async () => {
      const response = await query(device, 'caf\u00e9');
      expect(response.status).toBe(200);
      expect(response.body.data).toHaveLength(2);
      return response.body.data;
    });
    expect(rows.map((row) => row.freeform).sort()).toEqual(['composed', 'decomposed']);
    expect((await query(device, 'cafe\u0301')).body.data).toHaveLength(2);
  });
});
