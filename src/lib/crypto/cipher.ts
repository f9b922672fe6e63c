import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface Sealed {
  iv: Buffer;
  /** Ciphertext followed by the 16-byte GCM tag. */
  ciphertext: Buffer;
}

function sealWithIv(key: Buffer, iv: Buffer, plaintext: Buffer, aad: Buffer): Sealed {
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const body = cipher.update(plaintext);
  const rest = cipher.final();
  return { iv, ciphertext: Buffer.concat([body, rest, cipher.getAuthTag()]) };
}

/** AES-256-GCM with a fresh random 96-bit IV per value; `aad` binds it to where it belongs. */
export function seal(key: Buffer, plaintext: Buffer, aad: Buffer): Sealed {
  return sealWithIv(key, randomBytes(IV_BYTES), plaintext, aad);
}

/**
 * seal() for many values under one key. Each value still gets its own random 96-bit IV, but they
 * come from one CSPRNG call: a call costs about as much as encrypting a small reading.
 */
export function sealMany(key: Buffer, values: ReadonlyArray<{ plaintext: Buffer; aad: Buffer }>): Sealed[] {
  const ivs = randomBytes(IV_BYTES * values.length);
  return values.map(({ plaintext, aad }, index) =>
    sealWithIv(key, ivs.subarray(index * IV_BYTES, (index + 1) * IV_BYTES), plaintext, aad),
  );
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
