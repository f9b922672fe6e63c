import { randomBytes } from 'node:crypto';

/** Text deflate cannot shrink much: random printable ASCII, without the characters JSON escapes. */
export function incompressibleText(length: number): string {
  const alphabet =
    "!#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~";
  return Array.from(randomBytes(length), (byte) => alphabet[byte % alphabet.length]).join('');
}
