import { DecryptCommand, GenerateDataKeyCommand } from '@aws-sdk/client-kms';
import { kms } from '../aws/kms';
import type { KeyWrapper } from './key-wrapper';

export function kmsKeyWrapper(keyId: string): KeyWrapper {
  return {
    provider: 'kms',
    async generate(context) {
      const response = await kms.send(
        new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: context }),
      );
      if (!response.Plaintext || !response.CiphertextBlob) throw new Error('KMS returned no data key');
      return { plaintext: Buffer.from(response.Plaintext), wrapped: Buffer.from(response.CiphertextBlob) };
    },
    async unwrap(wrapped, context) {
      const response = await kms.send(
        new DecryptCommand({ CiphertextBlob: wrapped, KeyId: keyId, EncryptionContext: context }),
      );
      if (!response.Plaintext) throw new Error('KMS returned no plaintext');
      return Buffer.from(response.Plaintext);
    },
  };
}
