import { randomBytes } from 'node:crypto';
import {
  normalisePassword,
  passwordKey,
  pepperedVerifierId,
  verifierId,
} from '../../src/lib/crypto/passwords';

describe('password normalisation and the peppered verifier', () => {
  const salt = randomBytes(16).toString('base64');

  it('derives the same key for composed and decomposed accents once normalised (NFC)', async () => {
    const composed = normalisePassword('caf\u00e9');
    const decomposed = normalisePassword('cafe\u0301');
    expect(decomposed).toBe(composed);
    expect((await passwordKey(decomposed, salt)).equals(await passwordKey(composed, salt))).toBe(true);
    // As sent (the layout before normalisation), they were different passwords.
    expect((await passwordKey('cafe\u0301', salt)).equals(await passwordKey('caf\u00e9', salt))).toBe(false);
  });

  it('makes the stored verifier depend on the pepper, not only on salt and password', async () => {
    const key = await passwordKey('secret', salt);
    const pepperA = randomBytes(32);
    const pepperB = randomBytes(32);
    const v2 = pepperedVerifierId(pepperA, key);
    expect(v2).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(pepperedVerifierId(pepperA, key)).toBe(v2);
    expect(pepperedVerifierId(pepperB, key)).not.toBe(v2);
    expect(v2).not.toBe(verifierId(key));
  });
});
