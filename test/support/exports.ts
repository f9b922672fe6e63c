import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { COLUMNS } from '../../src/lib/exports/encoders';
import { api } from './api';
import { eventually } from './sqs';

export interface ExportFile {
  device: string;
  day: string;
  rows: number;
  key: string;
  url: string;
}

export interface ExportView {
  id: string;
  status: 'queued' | 'running' | 'done' | 'failed';
  format: 'csv' | 'parquet';
  deviceId: string | null;
  rows?: number;
  hidden?: number;
  error?: { code: string; message: string; unreadable?: string[] };
  files?: ExportFile[];
  urlsExpireAt?: string;
}

export interface ExportedRow {
  id: string;
  absolute_timestamp: string;
  relative_timestamp: number;
  interrogator_timestamp: number;
  freeform: unknown;
  device_id: string;
}

export async function requestExport(token: string, body: Record<string, unknown>): Promise<string> {
  const response = await api<{ id: string }>('POST', '/api/exports', { token, body });
  if (response.status !== 202)
    throw new Error(`POST /api/exports answered ${response.status} ${response.text}`);
  return response.body.id;
}

/** Polls GET /api/exports/{id} until the export has ended. */
export async function endedExport(token: string, id: string): Promise<ExportView> {
  return eventually(
    async () => {
      const response = await api<ExportView>('GET', `/api/exports/${id}`, { token });
      expect(response.status).toBe(200);
      expect(['done', 'failed']).toContain(response.body.status);
      return response.body;
    },
    { timeoutMs: 90_000, intervalMs: 250 },
  );
}

/** RFC 4180, as an independent check of the writer: quoted fields, doubled quotes, CRLF records. */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let index = 0;
  let quoted = false;
  while (index < text.length) {
    const char = text[index] as string;
    if (quoted) {
      if (char === '"' && text[index + 1] === '"') {
        field += '"';
        index += 2;
        continue;
      }
      if (char === '"') quoted = false;
      else field += char;
      index += 1;
      continue;
    }
    if (char === '"' && field === '') quoted = true;
    else if (char === ',') {
      record.push(field);
      field = '';
    } else if (char === '\r' && text[index + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      index += 1;
    } else if (char === '\r' || char === '\n' || char === '"') {
      throw new Error(`not RFC 4180 at ${index}: bare ${JSON.stringify(char)}`);
    } else field += char;
    index += 1;
  }
  if (quoted) throw new Error('not RFC 4180: unterminated quoted field');
  if (field !== '' || record.length > 0) throw new Error('not RFC 4180: last record without CRLF');
  return records;
}

export function csvRows(text: string): ExportedRow[] {
  const [header, ...records] = parseCsv(text);
  expect(header).toEqual([...COLUMNS]);
  return records.map(([id, absolute, relative, interrogator, freeform, device]) => ({
    id: id as string,
    absolute_timestamp: absolute as string,
    relative_timestamp: Number(relative),
    interrogator_timestamp: Number(interrogator),
    freeform: JSON.parse(freeform as string),
    device_id: device as string,
  }));
}

/** Read with hyparquet, a reader independent of the writer (hyparquet-writer). */
export async function parquetRows(bytes: ArrayBuffer): Promise<{ rows: ExportedRow[]; rowGroups: number }> {
  const metadata = parquetMetadata(bytes);
  const objects = (await parquetReadObjects({ file: bytes })) as Array<Record<string, unknown>>;
  const rows = objects.map((row) => ({
    id: row.id as string,
    absolute_timestamp: row.absolute_timestamp as string,
    relative_timestamp: Number(row.relative_timestamp as bigint),
    interrogator_timestamp: Number(row.interrogator_timestamp as bigint),
    // A JSON column: hyparquet parses it.
    freeform: row.freeform,
    device_id: row.device_id as string,
  }));
  return { rows, rowGroups: metadata.row_groups.length };
}

export async function download(url: string): Promise<ArrayBuffer> {
  const response = await fetch(url);
  if (response.status !== 200) throw new Error(`download answered ${response.status}`);
  return response.arrayBuffer();
}

export const byId = <T extends { id: string }>(rows: T[]) =>
  [...rows].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
