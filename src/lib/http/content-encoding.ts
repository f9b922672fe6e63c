import { pipeline } from 'node:stream/promises';
import { createGunzip, createInflate } from 'node:zlib';

// Compressed request bodies (`Content-Encoding`). API Gateway (REST) decodes gzip and deflate itself
// before the integration and answers 415 for any other coding or a body that is not in the coding it
// names; the Lambda then gets the decoded body with the Content-Encoding header still set. The local
// gateway (scripts/local/gateway.ts) does the same with `inflateBody`, and the functions decode a body
// that still arrives encoded (a direct invoke) with it too. Output is capped while it streams: a
// decompression bomb costs at most the cap in memory, never its decoded size.

export type ContentCoding = 'gzip' | 'deflate';

/** The codings API Gateway decodes; `x-gzip` is gzip's old alias (RFC 9110). */
const CODINGS: Readonly<Record<string, ContentCoding | 'identity'>> = {
  gzip: 'gzip',
  'x-gzip': 'gzip',
  deflate: 'deflate',
  identity: 'identity',
};

/**
 * The single coding a Content-Encoding header names: undefined for none or `identity`, `'unsupported'`
 * for anything else, including a list (`gzip, gzip`): one layer of a known coding is all we decode.
 */
export function contentCoding(header: string | undefined): ContentCoding | 'unsupported' | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  const coding = CODINGS[header.trim().toLowerCase()];
  if (coding === undefined) return 'unsupported';
  return coding === 'identity' ? undefined : coding;
}

/** True when the bytes begin the way the coding's stream does (gzip's magic, zlib's checked header). */
export function looksEncoded(bytes: Buffer, coding: ContentCoding): boolean {
  const [first, second] = bytes;
  if (first === undefined || second === undefined) return false;
  if (coding === 'gzip') return first === 0x1f && second === 0x8b;
  return (first & 0x0f) === 8 && first >> 4 <= 7 && ((first << 8) | second) % 31 === 0;
}

export type InflateResult =
  | { ok: true; body: Buffer }
  /** `inflated`: decoded bytes produced before giving up (at most the cap plus one zlib chunk). */
  | { ok: false; reason: 'too-large'; inflated: number }
  | { ok: false; reason: 'corrupt'; inflated: number };

class OutputLimitReached extends Error {}

/**
 * Decodes `source` (the body's bytes, streamed or whole) into at most `maxBytes`; stops inflating the
 * moment the output passes the cap. A source from an HTTP request should not be destroyed when this
 * stops early (`request.iterator({ destroyOnReturn: false })`), so the caller can still answer.
 */
export async function inflateBody(
  source: AsyncIterable<Buffer> | Iterable<Buffer>,
  coding: ContentCoding,
  maxBytes: number,
): Promise<InflateResult> {
  const chunks: Buffer[] = [];
  let inflated = 0;
  try {
    await pipeline(source, coding === 'gzip' ? createGunzip() : createInflate(), async (output) => {
      for await (const chunk of output as AsyncIterable<Buffer>) {
        inflated += chunk.length;
        if (inflated > maxBytes) throw new OutputLimitReached();
        chunks.push(chunk);
      }
    });
  } catch (error) {
    if (error instanceof OutputLimitReached) return { ok: false, reason: 'too-large', inflated };
    // zlib's errors (bad header, bad checksum, truncated stream) all carry a Z_* code.
    if (
      typeof (error as { code?: unknown }).code === 'string' &&
      (error as { code: string }).code.startsWith('Z_')
    )
      return { ok: false, reason: 'corrupt', inflated };
    throw error;
  }
  return { ok: true, body: Buffer.concat(chunks, inflated) };
}
