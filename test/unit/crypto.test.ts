import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { open, seal, sealMany } from '../../src/lib/crypto/cipher';
import { localKeyWrapper } from '../../src/lib/crypto/local-key-wrapper';
import { passwordKey, verifierId } from '../../src/lib/crypto/passwords';
import { readingAad, rowKey } from '../../src/lib/readings/rows';

describe('row sealing', () => {
  const dataKey = randomBytes(32);
  const key = rowKey(dataKey, 'dev_a');

  it('round-trips and uses a fresh IV every time', () => {
    const a = seal(key, Buffer.from('{"rssi":-60}'), readingAad('dev_a', 'r1'));
    const b = seal(key, Buffer.from('{"rssi":-60}'), readingAad('dev_a', 'r1'));
    expect(a.iv.equals(b.iv)).toBe(false);
    expect(a.ciphertext.equals(b.ciphertext)).toBe(false);
    expect(open(key, a, readingAad('dev_a', 'r1')).toString()).toBe('{"rssi":-60}');
  });

  it('seals many values with a distinct IV each, every one opening only with its own AAD', () => {
    const values = Array.from({ length: 50 }, (_, index) => ({
      plaintext: Buffer.from(`{"rssi":${-index}}`),
      aad: readingAad('dev_a', `r${index}`),
    }));
    const sealed = sealMany(key, values);
    expect(sealed).toHaveLength(50);
    expect(new Set(sealed.map(({ iv }) => iv.toString('hex'))).size).toBe(50);
    sealed.forEach((value, index) => {
      expect(value.iv).toHaveLength(12);
      expect(open(key, value, readingAad('dev_a', `r${index}`)).toString()).toBe(`{"rssi":${-index}}`);
      expect(() => open(key, value, readingAad('dev_a', `r${index + 1}`))).toThrow();
    });
    expect(sealMany(key, [])).toEqual([]);
  });

  it('fails to open a ciphertext copied to another reading or device', () => {
    const sealed = seal(key, Buffer.from('x'), readingAad('dev_a', 'r1'));
    expect(() => open(key, sealed, readingAad('dev_a', 'r2'))).toThrow();
    expect(() => open(rowKey(dataKey, 'dev_b'), sealed, readingAad('dev_b', 'r1'))).toThrow();
  });

  it('needs the password-derived key for rows written with a password', async () => {
    const salt = randomBytes(16).toString('base64');
    const pw = await passwordKey('abc123', salt);
    const sealed = seal(rowKey(dataKey, 'dev_a', pw), Buffer.from('x'), readingAad('dev_a', 'r1'));
    expect(() => open(key, sealed, readingAad('dev_a', 'r1'))).toThrow();
    const wrong = await passwordKey('abc124', salt);
    expect(() => open(rowKey(dataKey, 'dev_a', wrong), sealed, readingAad('dev_a', 'r1'))).toThrow();
    expect(open(rowKey(dataKey, 'dev_a', pw), sealed, readingAad('dev_a', 'r1')).toString()).toBe('x');
  });

  it('identifies a password by a verifier that depends on the per-device salt', async () => {
    const saltA = randomBytes(16).toString('base64');
    const saltB = randomBytes(16).toString('base64');
    const a1 = verifierId(await passwordKey('abc123', saltA));
    expect(verifierId(await passwordKey('abc123', saltA))).toBe(a1);
    expect(verifierId(await passwordKey('abc123', saltB))).not.toBe(a1);
    expect(verifierId(await passwordKey('abc1234', saltA))).not.toBe(a1);
    expect(a1).not.toContain('abc123');
  });
});

describe('local key wrapper (offline stand-in for KMS)', () => {
  it('wraps data keys under the master key, bound to their context', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'mk-')), 'master.key');
    writeFileSync(file, randomBytes(32).toString('hex'));
    const wrapper = localKeyWrapper(file);
    const { plaintext, wrapped } = await wrapper.generate({ keyId: 'k1' });
    expect(wrapped.includes(plaintext)).toBe(false);
    expect((await wrapper.unwrap(wrapped, { keyId: 'k1' })).equals(plaintext)).toBe(true);
    await expect(wrapper.unwrap(wrapped, { keyId: 'k2' })).rejects.toThrow();
  });
});
