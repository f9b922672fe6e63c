import { randomBytes } from 'node:crypto';
import { handler as consume } from '../../src/handlers/consume-readings';
import { config } from '../../src/lib/config';
import { currentDataKey } from '../../src/lib/crypto/data-keys';
import { passwordKey, pepperedVerifierId, verifierId } from '../../src/lib/crypto/passwords';
import { passwordPepper } from '../../src/lib/crypto/pepper';
import { getDevice, registerDevice, rememberPasswordVerifier } from '../../src/lib/devices/devices';
import { passwordAccess } from '../../src/lib/devices/passwords';
import { AppError } from '../../src/lib/errors';
import { readingsMessageV2, sealReadings } from '../../src/lib/readings/messages';
import { queryReadings } from '../../src/lib/readings/query';
import { rowKey } from '../../src/lib/readings/rows';
import { alertsFile } from '../support/jobs';
import { lambdaContext } from '../support/lambda-context';
import { sqsEvent, sqsRecord } from '../support/readings';

// Item 8 and the password half of item 11 against DynamoDB Local (in-process): the guess limit holds
// under concurrency, verifiers need the pepper, and rows written the old way stay readable.

/** Stores readings exactly as the code before the pepper and NFC did: key and v1 id of the password as sent. */
async function writeLegacyRows(deviceId: string, password: string, relativeTimes: number[]): Promise<void> {
  const device = await getDevice(deviceId);
  const legacyKey = await passwordKey(password, device.passwordSalt);
  const v1 = verifierId(legacyKey);
  await rememberPasswordVerifier(device, v1);
  const { keyId, key } = await currentDataKey(relativeTimes.length);
  const batchId = `b${randomBytes(8).toString('hex')}`;
  const sealed = sealReadings(
    rowKey(key, deviceId, legacyKey),
    deviceId,
    relativeTimes.map((relativeTime, index) => ({
      id: `${batchId}-${index}`,
      relativeTime,
      interrogatorTime: 1,
      freeform: { legacy: relativeTime },
    })),
    v1,
  );
  const message = readingsMessageV2({ deviceId, batchId, arrivedAt: Date.now(), keyId }, sealed);
  const result = await consume(sqsEvent([sqsRecord(JSON.stringify(message))]), lambdaContext());
  expect(result.batchItemFailures).toEqual([]);
}

const readAll = (deviceId: string, password: string) =>
  queryReadings({ deviceId, window: { kind: 'all' }, password, limit: 100 });

async function statusOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
    return 200;
  } catch (error) {
    if (error instanceof AppError) return error.status;
    throw error;
  }
}

describe('db_password verifiers and rows of the old layout', () => {
  beforeAll(async () => {
    await passwordPepper({ create: true });
  });

  it('still opens rows written before the pepper, and moves the stored verifier to the peppered one', async () => {
    const { device } = await registerDevice({});
    await writeLegacyRows(device.deviceId, 'old secret', [1, 2]);
    const before = await getDevice(device.deviceId);
    const legacyKey = await passwordKey('old secret', before.passwordSalt);
    expect(before.passwordVerifiers).toEqual([verifierId(legacyKey)]);

    const page = await readAll(device.deviceId, 'old secret');
    expect(page.data.map((row) => row.freeform)).toEqual([{ legacy: 1 }, { legacy: 2 }]);

    // The devices table now holds only an id that needs the pepper: salt + password alone cannot
    // reproduce anything stored there (an export is not enough to test guesses offline).
    const after = await getDevice(device.deviceId);
    const pepper = (await passwordPepper({ create: false })) as Buffer;
    expect(after.passwordVerifiers).toEqual([pepperedVerifierId(pepper, legacyKey)]);
    expect(after.passwordVerifiers).not.toContain(verifierId(legacyKey));
    // And the old rows still open after the upgrade.
    expect((await readAll(device.deviceId, 'old secret')).data).toHaveLength(2);
  });

  it('opens rows written with a non-normalised password by the same form as sent (before NFC)', async () => {
    const { device } = await registerDevice({});
    const decomposed = 'cafe\u0301';
    await writeLegacyRows(device.deviceId, decomposed, [5]);
    expect((await readAll(device.deviceId, decomposed)).data.map((row) => row.freeform)).toEqual([
      { legacy: 5 },
    ]);
  });

  it('never stores a v1 verifier for new writes: a table export cannot test guesses', async () => {
    const { passwordForWriting } = await import('../../src/lib/devices/passwords');
    const { device } = await registerDevice({});
    const record = await getDevice(device.deviceId);
    await passwordForWriting(record, 'fresh secret');
    const stored = await getDevice(device.deviceId);
    const key = await passwordKey('fresh secret', stored.passwordSalt);
    expect(stored.passwordVerifiers).toHaveLength(1);
    expect(stored.passwordVerifiers).not.toContain(verifierId(key));
  });
});

describe('db_password guess limit', () => {
  it(`lets at most ${config.MAX_PASSWORD_GUESSES} wrong guesses through however many run at once, then 429`, async () => {
    const { device } = await registerDevice({});
    await writeLegacyRows(device.deviceId, 'right one', [1]);
    const attempts = config.MAX_PASSWORD_GUESSES + 15;
    const statuses = await Promise.all(
      Array.from({ length: attempts }, (_, index) =>
        statusOf(passwordAccess(device.deviceId, `guess ${index}`)),
      ),
    );
    expect(statuses.filter((status) => status === 403)).toHaveLength(config.MAX_PASSWORD_GUESSES);
    expect(statuses.filter((status) => status === 429)).toHaveLength(15);
    // The right password is refused too while the window is spent: a 200 would confirm a guess.
    expect(await statusOf(passwordAccess(device.deviceId, 'right one'))).toBe(429);
    const alerts = alertsFile().filter((alert) => alert.deviceId === device.deviceId);
    expect(alerts).toEqual([
      expect.objectContaining({
        type: 'device.password-guessing',
        deviceId: device.deviceId,
        guesses: config.MAX_PASSWORD_GUESSES,
      }),
    ]);
  });

  it('does not count right passwords: many in a row, and up to the limit at once', async () => {
    const { device } = await registerDevice({});
    await writeLegacyRows(device.deviceId, 'right one', [1]);
    for (let index = 0; index < config.MAX_PASSWORD_GUESSES * 2; index += 1) {
      expect(await statusOf(passwordAccess(device.deviceId, 'right one'))).toBe(200);
    }
    // A check holds its guess until answered, so at most the limit can be evaluated at once.
    const together = await Promise.all(
      Array.from({ length: config.MAX_PASSWORD_GUESSES }, () =>
        statusOf(passwordAccess(device.deviceId, 'right one')),
      ),
    );
    expect(new Set(together)).toEqual(new Set([200]));
    expect(await statusOf(passwordAccess(device.deviceId, 'wrong'))).toBe(403);
  });

  it('opens a new window once the old one has ended', async () => {
    const { device } = await registerDevice({});
    await writeLegacyRows(device.deviceId, 'right one', [1]);
    for (let index = 0; index < config.MAX_PASSWORD_GUESSES; index += 1) {
      expect(await statusOf(passwordAccess(device.deviceId, `guess ${index}`))).toBe(403);
    }
    expect(await statusOf(passwordAccess(device.deviceId, 'guess'))).toBe(429);
    const now = Date.now();
    const later = jest
      .spyOn(Date, 'now')
      .mockReturnValue(now + (config.PASSWORD_GUESS_WINDOW_SECONDS + 1) * 1000);
    try {
      expect(await statusOf(passwordAccess(device.deviceId, 'right one'))).toBe(200);
    } finally {
      later.mockRestore();
    }
  });
});
