import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { formatClockOffset, keyFromFileName, toCsv } from '../../console/src/text';
import { imageKeySchema } from '../../src/lib/images/keys';

describe('console text helpers', () => {
  const row = (freeform: unknown, relative = 5) => ({
    id: 'r1',
    absolute_timestamp: '2026-11-30 01:02:03',
    relative_timestamp: relative,
    interrogator_timestamp: 1_700_000_000_000_000,
    freeform,
  });

  it('writes CSV with every cell quoted, quotes doubled and freeform as JSON', () => {
    expect(toCsv([row({ rssi: -59, note: 'a "quote", a comma' })])).toBe(
      'id,absolute_timestamp,relative_timestamp,interrogator_timestamp,freeform\r\n' +
        '"r1","2026-11-30 01:02:03","5","1700000000000000","{""rssi"":-59,""note"":""a \\""quote\\"", a comma""}"\r\n',
    );
  });

  it('neutralises strings a spreadsheet would run as formulas, never numbers', () => {
    const lastCell = (freeform: string) =>
      toCsv([row(freeform)])
        .split('\r\n')[1]
        ?.split(',')
        .pop();
    expect(lastCell('=HYPERLINK(1)')).toBe('"\'=HYPERLINK(1)"');
    expect(lastCell('+1+1')).toBe('"\'+1+1"');
    expect(lastCell('-2+3')).toBe('"\'-2+3"');
    expect(lastCell('@SUM(A1)')).toBe('"\'@SUM(A1)"');
    expect(toCsv([row('', -1)]).split('\r\n')[1]).toContain(',"-1",');
  });

  it('turns file names into valid image keys', () => {
    for (const [name, key] of [
      ['photo.jpg', 'photo.jpg'],
      ['Grüße aus Köln.png', 'Grüße aus Köln.png'],
      ['../etc/passwd?#%.png', 'etc-passwd---.png'],
      ['.hidden.png', 'hidden.png'],
      ['<img src=x>.png', 'img src=x-.png'],
    ] as const) {
      expect(keyFromFileName(name)).toBe(key);
      expect(imageKeySchema.safeParse(keyFromFileName(name)).success).toBe(true);
    }
    expect(keyFromFileName('???')).toBeUndefined();
    expect(keyFromFileName(`${'a'.repeat(300)}.png`)?.length).toBe(200);
  });
});

describe('console source', () => {
  const files = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const full = path.join(dir, name);
      return statSync(full).isDirectory() ? files(full) : [full];
    });

  it('never renders markup from strings or evaluates code (text only, CSP without unsafe-eval)', () => {
    const offenders = files(path.resolve(__dirname, '../../console/src')).flatMap((file) => {
      const source = readFileSync(file, 'utf8');
      return /dangerouslySetInnerHTML|innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(/.test(
        source,
      )
        ? [path.basename(file)]
        : [];
    });
    expect(offenders).toEqual([]);
  });
});

describe('formatClockOffset', () => {
  it.each([
    [undefined, '—'],
    [0, 'in sync'],
    [-499, 'in sync'],
    [500, '+0.5 s ahead'],
    [3_600_000, '+3600.0 s ahead'],
    [-2_500, '−2.5 s behind'],
  ])('%p → %p', (offsetMs, text) => {
    expect(formatClockOffset(offsetMs)).toBe(text);
  });
});
