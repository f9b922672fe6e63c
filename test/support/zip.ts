import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';

export interface ZipEntry {
  name: string;
  compressedBytes: number;
  bytes: number;
  /** Where the entry's local header starts. */
  offset: number;
}

const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const CENTRAL_DIRECTORY_HEADER = 0x02014b50;

/**
 * The entries of a zip file, read from its central directory (enough for size budgets and
 * contents checks; serverless writes plain, non-ZIP64 archives).
 */
export function zipEntries(file: string): ZipEntry[] {
  const zip = readFileSync(file);
  // The end record is at least 22 bytes from the end, followed by a comment of up to 64 KB.
  let end = -1;
  for (let at = zip.length - 22; at >= Math.max(0, zip.length - 22 - 65_535); at--) {
    if (zip.readUInt32LE(at) === END_OF_CENTRAL_DIRECTORY) {
      end = at;
      break;
    }
  }
  if (end < 0) throw new Error(`${file}: not a zip file`);
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const entries: ZipEntry[] = [];
  for (let index = 0; index < count; index++) {
    if (zip.readUInt32LE(at) !== CENTRAL_DIRECTORY_HEADER) throw new Error(`${file}: bad central directory`);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    entries.push({
      compressedBytes: zip.readUInt32LE(at + 20),
      bytes: zip.readUInt32LE(at + 24),
      name: zip.toString('utf8', at + 46, at + 46 + nameLength),
      offset: zip.readUInt32LE(at + 42),
    });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** The contents of one entry (stored or deflated, the two methods serverless writes). */
export function zipEntryContent(file: string, name: string): Buffer {
  const entry = zipEntries(file).find((candidate) => candidate.name === name);
  if (!entry) throw new Error(`${file}: no entry ${name}`);
  const zip = readFileSync(file);
  const method = zip.readUInt16LE(entry.offset + 8);
  const start = entry.offset + 30 + zip.readUInt16LE(entry.offset + 26) + zip.readUInt16LE(entry.offset + 28);
  const data = zip.subarray(start, start + entry.compressedBytes);
  if (method === 0) return data;
  if (method === 8) return inflateRawSync(data);
  throw new Error(`${file}: ${name} uses compression method ${method}`);
}
