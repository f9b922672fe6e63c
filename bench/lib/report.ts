// A small Markdown builder: the report is plain text anyone can diff between runs.

export type Cell = string | number;

export class Report {
  private readonly lines: string[] = [];

  heading(level: number, text: string): this {
    this.lines.push('', `${'#'.repeat(level)} ${text}`, '');
    return this;
  }

  paragraph(...text: string[]): this {
    this.lines.push(text.join(' '), '');
    return this;
  }

  bullets(items: string[]): this {
    for (const item of items) this.lines.push(`- ${item}`);
    this.lines.push('');
    return this;
  }

  table(header: Cell[], rows: Cell[][]): this {
    const cellText = (cell: Cell) => String(cell).replace(/\|/g, '\\|');
    this.lines.push(`| ${header.map(cellText).join(' | ')} |`);
    this.lines.push(`| ${header.map(() => '---').join(' | ')} |`);
    for (const row of rows) this.lines.push(`| ${row.map(cellText).join(' | ')} |`);
    this.lines.push('');
    return this;
  }

  image(alt: string, file: string, svg?: string): this {
    this.lines.push(svg ? `[![${alt}](${file})](${svg})` : `![${alt}](${file})`, '');
    return this;
  }

  raw(text: string): this {
    this.lines.push(text);
    return this;
  }

  toString(): string {
    return `${this.lines
      .join('\n')
      .replace(/\n{3,}/g, '\n\n')
      .trim()}\n`;
  }
}
