import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface Sealed {
  iv: Buffer;
  /** Ciphertext followed by the 16-byte GCM tag. */
  ciphertext: Buffer;
}

/** AES-256-GCM with a fresh random 96-bit IV per value; `aad` binds it to where it belongs. */
export function seal(key: Buffer, plaintext: Buffer, aad: Buffer): Sealed {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { iv, ciphertext: Buffer.concat([body, cipher.getAuthTag()]) };
}

/** Throws when the key, IV, AAD or ciphertext do not belong together. */
export function open(key: Buffer, sealed: Sealed, aad: Buffer): Buffer {
  const { iv, ciphertext } = sealed;
  if (iv.length !== IV_BYTES || ciphertext.length < TAG_BYTES) throw new Error('malformed ciphertext');
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(aad);
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - TAG_BYTES));
  return Buffer.concat([
    decipher.update(ciphertext.subarray(0, ciphertext.length - TAG_BYTES)),
    decipher.final(),
  ]);
}

/** A key derived for one purpose from key material (HKDF-SHA256). */
export function deriveKey(material: Buffer, salt: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', material, salt, info, 32));
}
