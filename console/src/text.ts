// Text helpers of the console with no DOM or UI dependency (unit-tested in test/unit/console-text.test.ts).

/** The fields of a reading that CSV export writes. */
export interface CsvReading {
  id: string;
  absolute_timestamp: string;
  relative_timestamp: number;
  interrogator_timestamp: number;
  freeform: unknown;
}

const csvCell = (value: unknown): string => {
  // Quotes always. A string starting with = + - @ is neutralised so a spreadsheet never runs it as a
  // formula; numbers (negative ones too) are written as they are.
  const text = typeof value === 'string' ? value : JSON.stringify(value ?? '');
  const safe = typeof value === 'string' && /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return `"${safe.replaceAll('"', '""')}"`;
};

export function toCsv(rows: CsvReading[]): string {
  const header = ['id', 'absolute_timestamp', 'relative_timestamp', 'interrogator_timestamp', 'freeform'];
  const lines = rows.map((row) =>
    [row.id, row.absolute_timestamp, row.relative_timestamp, row.interrogator_timestamp, row.freeform]
      .map(csvCell)
      .join(','),
  );
  return `${[header.join(','), ...lines].join('\r\n')}\r\n`;
}

/** An image key from a file name: allowed characters kept, the rest replaced (docs/images.md: Keys). */
export function keyFromFileName(name: string): string | undefined {
  const cleaned = name
    .normalize('NFC')
    .replace(/[^\p{L}\p{N} ._~()+,!@=-]/gu, '-')
    .replace(/^[^\p{L}\p{N}]+/u, '')
    .slice(0, 200);
  return cleaned || undefined;
}

/** A device's measured clock offset: "+3600.0 s ahead", "−2.5 s behind", "in sync" within 0.5 s. */
export function formatClockOffset(offsetMs: number | undefined): string {
  if (offsetMs === undefined) return '—';
  if (Math.abs(offsetMs) < 500) return 'in sync';
  const seconds = (Math.abs(offsetMs) / 1000).toFixed(1);
  return offsetMs > 0 ? `+${seconds} s ahead` : `−${seconds} s behind`;
}
