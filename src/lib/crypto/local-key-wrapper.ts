import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { KeyWrapper } from './key-wrapper';

const contextAad = (context: Record<string, string>) =>
  Buffer.from(
    JSON.stringify(
      Object.keys(context)
        .sort()
        .map((key) => [key, context[key]]),
    ),
  );

/** Offline stand-in for KMS: wraps data keys with AES-256-GCM under a master key kept in `.local/`. */
export function localKeyWrapper(masterKeyFile: string): KeyWrapper {
  let masterKey: Buffer | undefined;
  const master = () => {
    masterKey ??= Buffer.from(readFileSync(masterKeyFile, 'utf8').trim(), 'hex');
    if (masterKey.length !== 32) throw new Error(`${masterKeyFile} does not hold a 256-bit hex key`);
    return masterKey;
  };
  return {
    provider: 'local',
    async generate(context) {
      const plaintext = randomBytes(32);
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', master(), iv);
      cipher.setAAD(contextAad(context));
      const sealed = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      return { plaintext, wrapped: Buffer.concat([iv, sealed, cipher.getAuthTag()]) };
    },
    async unwrap(wrapped, context) {
      const decipher = createDecipheriv('aes-256-gcm', master(), wrapped.subarray(0, 12));
      decipher.setAAD(contextAad(context));
      decipher.setAuthTag(wrapped.subarray(wrapped.length - 16));
      return Buffer.concat([decipher.update(wrapped.subarray(12, wrapped.length - 16)), decipher.final()]);
    },
  };
}
