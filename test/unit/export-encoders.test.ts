import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import {
  type ByteSink,
  csvEncoder,
  csvField,
  type ExportRow,
  parquetEncoder,
} from '../../src/lib/exports/encoders';
import { objectKey } from '../../src/lib/exports/partitions';
import { csvRows } from '../support/exports';

const collect = () => {
  const chunks: Buffer[] = [];
  const sink: ByteSink = {
    async write(chunk) {
      chunks.push(Buffer.from(chunk));
    },
  };
  return { sink, bytes: () => Buffer.concat(chunks), writes: () => chunks.length };
};

const rows = (count: number, freeform: (index: number) => unknown = (index) => ({ index })): ExportRow[] =>
  Array.from({ length: count }, (_, index) => ({
    id: `batch-${index}`,
    absolute_timestamp: '2026-11-30 05:00:00',
    relative_timestamp: index % 2 ? Number.MAX_SAFE_INTEGER - index : -Number.MAX_SAFE_INTEGER + index,
    interrogator_timestamp: 1_700_000_000_000_000 + index,
    freeform: freeform(index),
    device_id: 'dev_1',
  }));

describe('CSV encoding (RFC 4180)', () => {
  it('quotes exactly the fields holding a comma, quote, CR or LF, doubling quotes', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('')).toBe('');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('line\r\nbreak')).toBe('"line\r\nbreak"');
    expect(csvField('lf\n')).toBe('"lf\n"');
    expect(csvField('😀 <b>&amp;</b>')).toBe('😀 <b>&amp;</b>');
  });

  it('writes a header and one CRLF record per row, freeform as its JSON, read back by a parser', async () => {
    const out = collect();
    const encoder = csvEncoder(out.sink);
    const freeforms = ['a,"b"\r\nc', { html: '<i>x</i>', emoji: '😀' }, null, [1, -2.5], 'é'.repeat(9_000)];
    const input = rows(freeforms.length, (index) => freeforms[index]);
    for (const row of input) await encoder.add(row);
    await encoder.finish();
    expect(csvRows(out.bytes().toString('utf8'))).toEqual(input);
  });

  it('hands bytes to the sink as it goes, not all at the end', async () => {
    const out = collect();
    const encoder = csvEncoder(out.sink);
    for (const row of rows(200, () => 'x'.repeat(4_000))) await encoder.add(row);
    expect(out.writes()).toBeGreaterThan(1);
    await encoder.finish();
  });
});

describe('Parquet encoding (hyparquet-writer, read back with hyparquet)', () => {
  it('writes every row in order, int64 times exact at ±(2^53−1), freeform as JSON', async () => {
    const out = collect();
    const encoder = parquetEncoder(out.sink);
    const input = rows(1_000, (index) =>
      index % 3 ? { index, text: `<p>${index}, "q"</p>` } : [index, null, '😀'],
    );
    for (const row of input) await encoder.add(row);
    await encoder.finish();
    const file = new Uint8Array(out.bytes()).buffer;
    const read = (await parquetReadObjects({ file })) as Array<Record<string, unknown>>;
    expect(
      read.map((row) => ({
        ...row,
        relative_timestamp: Number(row.relative_timestamp as bigint),
        interrogator_timestamp: Number(row.interrogator_timestamp as bigint),
      })),
    ).toEqual(input);
    const schema = parquetMetadata(file).schema.map(({ name, type, converted_type }) => ({
      name,
      type,
      converted_type,
    }));
    expect(schema.slice(1)).toEqual([
      { name: 'id', type: 'BYTE_ARRAY', converted_type: 'UTF8' },
      { name: 'absolute_timestamp', type: 'BYTE_ARRAY', converted_type: 'UTF8' },
      { name: 'relative_timestamp', type: 'INT64', converted_type: undefined },
      { name: 'interrogator_timestamp', type: 'INT64', converted_type: undefined },
      { name: 'freeform', type: 'BYTE_ARRAY', converted_type: 'JSON' },
      { name: 'device_id', type: 'BYTE_ARRAY', converted_type: 'UTF8' },
    ]);
  });

  it('bounds row groups by freeform bytes, each written to the sink before the next is gathered', async () => {
    const out = collect();
    // 16 KB freeforms under a 98 KB bound (4 MiB in production): 6 rows per group.
    const encoder = parquetEncoder(out.sink, { rows: 50_000, bytes: 98_000 });
    const input = rows(20, () => ({ blob: 'z'.repeat(16_370) }));
    let writesBeforeEnd = 0;
    for (const row of input) await encoder.add(row);
    writesBeforeEnd = out.writes();
    await encoder.finish();
    const file = new Uint8Array(out.bytes()).buffer;
    const groups = parquetMetadata(file).row_groups;
    expect(groups.map((group) => Number(group.num_rows))).toEqual([6, 6, 6, 2]);
    expect(writesBeforeEnd).toBe(3);
    const read = (await parquetReadObjects({ file })) as Array<Record<string, unknown>>;
    expect(read.map((row) => row.id)).toEqual(input.map((row) => row.id));
  });
});

describe('export object keys', () => {
  it('are Hive-style partitions by device and day, parts numbered', () => {
    expect(objectKey('e1', 'dev_1', '2026-11-30', 3, 'parquet')).toBe(
      'exports/e1/device=dev_1/day=2026-11-30/part-00003.parquet',
    );
  });
});
