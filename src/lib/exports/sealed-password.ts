import { open, seal } from '../crypto/cipher';
import { keyWrapper } from '../crypto/data-keys';

// A db_password an export needs travels to its worker sealed to that one export: a fresh data key
// from KMS (offline: the local master key) under the encryption context {purpose, exportId}, the
// password AES-256-GCM-sealed with it and bound to the export id. Only the job record holds it (the
// queue message carries the export id alone), and the worker removes it when the export ends; a
// copied record does not open under another export's context, and the role that can unwrap it is
// the export worker's alone (infra/functions/exports.yml).
const PURPOSE = 'sensorcloud/export-password';

export interface SealedPassword {
  wrappedKey: Uint8Array;
  iv: Uint8Array;
  ciphertext: Uint8Array;
}

const aad = (exportId: string) => Buffer.from(`sensorcloud/export-password/v1\n${exportId}`);

export async function sealPassword(exportId: string, password: string): Promise<SealedPassword> {
  const { plaintext, wrapped } = await keyWrapper.generate({ purpose: PURPOSE, exportId });
  const sealed = seal(plaintext, Buffer.from(password, 'utf8'), aad(exportId));
  plaintext.fill(0);
  return { wrappedKey: wrapped, iv: sealed.iv, ciphertext: sealed.ciphertext };
}

export async function unsealPassword(exportId: string, sealed: SealedPassword): Promise<string> {
  const key = await keyWrapper.unwrap(Buffer.from(sealed.wrappedKey), { purpose: PURPOSE, exportId });
  const password = open(
    key,
    { iv: Buffer.from(sealed.iv), ciphertext: Buffer.from(sealed.ciphertext) },
    aad(exportId),
  );
  key.fill(0);
  return password.toString('utf8');
}
