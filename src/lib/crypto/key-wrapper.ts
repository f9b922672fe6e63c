/**
 * Where data keys come from: KMS in AWS, a local master key offline. A data key is generated and
 * wrapped (encrypted) by the provider; only the wrapped form is stored.
 */
export interface KeyWrapper {
  readonly provider: 'kms' | 'local';
  generate(context: Record<string, string>): Promise<{ plaintext: Buffer; wrapped: Buffer }>;
  unwrap(wrapped: Buffer, context: Record<string, string>): Promise<Buffer>;
}
