import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { projectRoot } from '../../scripts/local/service-config';
import { adminToken, apiUrl } from '../support/api';

// The README's examples, extracted from README.md itself and run against the test stack, each answer
// checked against the `# → …` line that follows it in the README: the examples cannot drift from
// what the system does. The only change made to them: `localhost:3000` becomes the test stack's API.

interface Example {
  section: string;
  line: number;
  command: string;
  /** From `# → …`: the HTTP status (curl) and a pattern of the body / output (`…` = anything). */
  expected?: { status?: number; pattern?: string };
}

interface Block {
  section: string;
  line: number;
  examples: Example[];
}

const EXPECTATION = '# → ';

function readmeBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  let section = '';
  let block: Block | undefined;
  let pending = '';
  let pendingLine = 0;
  markdown.split('\n').forEach((text, index) => {
    const line = index + 1;
    if (!block) {
      if (/^#{2,3} /.test(text)) section = text.replace(/^#+ /, '');
      if (text === '```bash') block = { section, line, examples: [] };
      return;
    }
    if (text === '```') {
      blocks.push(block);
      block = undefined;
      return;
    }
    const trimmed = text.trim();
    if (trimmed.startsWith(EXPECTATION)) {
      const last = block.examples.at(-1);
      if (!last) throw new Error(`README.md:${line}: an expectation without a command before it`);
      const spec = trimmed.slice(EXPECTATION.length);
      const status = /^(\d{3})(?: (.*))?$/.exec(spec);
      last.expected = status ? { status: Number(status[1]), pattern: status[2] } : { pattern: spec };
      return;
    }
    if (trimmed === '' || trimmed.startsWith('#')) return;
    if (pending === '') pendingLine = line;
    if (text.endsWith('\\')) {
      pending += `${text.slice(0, -1)} `;
      return;
    }
    block.examples.push({ section, line: pendingLine, command: pending + text });
    pending = '';
  });
  return blocks;
}

/** `…` stands for anything; whitespace is not significant (pretty-printed output). */
function matches(actual: string, pattern: string, whole: boolean): boolean {
  const squeeze = (text: string) => text.replace(/\s+/g, '');
  const source = squeeze(pattern)
    .split('…')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[\\s\\S]*');
  return new RegExp(whole ? `^${source}$` : source).test(squeeze(actual));
}

/** Reads change nothing, so they are retried until the answer is there (the queue, image processing). */
function isRead(command: string): boolean {
  if (/npm run invoke -- (health|query-readings)\b/.test(command)) return true;
  if (!/^curl /.test(command)) return false;
  const method = /-X (\w+)/.exec(command)?.[1] ?? 'GET';
  if (method === 'GET') return true;
  return method === 'POST' && /\/(iot|rssi)(\/|\s|")/.test(command) && !command.includes('/api/images');
}

/** One bash session for all blocks, as a reader pasting them one after another into a terminal. */
class Shell {
  private readonly bash: ChildProcessWithoutNullStreams;
  private output = '';
  private waiting?: () => void;

  constructor(
    private readonly cwd: string,
    env: NodeJS.ProcessEnv,
  ) {
    this.bash = spawn('bash', ['--noprofile', '--norc'], { cwd, env });
    this.bash.stdout.on('data', (chunk: Buffer) => {
      this.output += chunk.toString();
      this.waiting?.();
    });
    this.bash.stderr.on('data', (chunk: Buffer) => {
      this.output += chunk.toString();
    });
  }

  async run(command: string): Promise<{ exitCode: number; output: string; status?: number }> {
    const out = path.join(this.cwd, '.out');
    const headers = path.join(this.cwd, '.headers');
    writeFileSync(headers, '');
    const marker = `__readme_done_${Date.now()}`;
    this.output = '';
    const done = new Promise<void>((resolve) => {
      this.waiting = () => {
        if (this.output.includes(marker)) resolve();
      };
    });
    this.bash.stdin.write(`{ ${command}\n} > '${out}' 2>&1; echo "${marker} $?"\n`);
    await done;
    const exitCode = Number(new RegExp(`${marker} (\\d+)`).exec(this.output)?.[1]);
    const statuses = [...readFileSync(headers, 'utf8').matchAll(/^HTTP\/[\d.]+ (\d{3})/gm)];
    const status = statuses.at(-1)?.[1];
    return {
      exitCode,
      output: readFileSync(out, 'utf8'),
      status: status === undefined ? undefined : Number(status),
    };
  }

  close(): void {
    this.bash.stdin.end();
    this.bash.kill();
  }
}

const readme = readFileSync(path.join(projectRoot, 'README.md'), 'utf8');
const blocks = readmeBlocks(readme);
const checked = blocks.filter((block) => block.examples.some((example) => example.expected));

describe('README.md examples', () => {
  let shell: Shell;
  let workDir: string;

  beforeAll(async () => {
    // The reader's current directory: `.local/admin-token` as `npm run dev` leaves it, a photo.jpg.
    workDir = mkdtempSync(path.join(os.tmpdir(), 'sensorcloud-readme-'));
    mkdirSync(path.join(workDir, '.local'));
    writeFileSync(path.join(workDir, '.local', 'admin-token'), adminToken(), { mode: 0o600 });
    // Red, so that the offline labeller labels it "red" as the label search example expects.
    await sharp({ create: { width: 640, height: 480, channels: 3, background: '#d01010' } })
      .jpeg()
      .toFile(path.join(workDir, 'photo.jpg'));
    const headers = path.join(workDir, '.headers');
    shell = new Shell(workDir, {
      ...process.env,
      // The stack file of the test stack is in its data directory (npm run invoke finds it there).
      SENSORCLOUD_DATA_DIR: process.env.SENSORCLOUD_DATA_DIR,
    });
    // curl records each answer's status line; npm runs in the project, as from its folder.
    await shell.run(`curl() { command curl -sS -D '${headers}' "$@"; }`);
    await shell.run(`npm() { (cd '${projectRoot}' && command npm "$@"); }`);
  });

  afterAll(() => shell?.close());

  it('covers every section with examples, and checks every command of their blocks', () => {
    expect([...new Set(checked.map((block) => block.section))]).toEqual([
      'The two commands',
      'Readings API',
      'Compressed bodies',
      'Clock skew',
      'Devices and access',
      'Aggregates',
      'Alert rules on values',
      'Self-registration (provisioning keys)',
      'Exports',
      'Images',
      'Invoking one function with a sample event',
    ]);
    // Sections that are examples through and through: none of their blocks may go unchecked.
    const examplesOnly = new Set(
      checked.map((block) => block.section).filter((name) => name !== 'The two commands'),
    );
    for (const block of blocks.filter((candidate) => examplesOnly.has(candidate.section)))
      expect(checked).toContain(block);
    for (const block of checked) {
      // Only assignments (TOKEN=$(…)) may go without an expected answer.
      const unchecked = block.examples.filter(
        (example) => !example.expected && !/^\w+=/.test(example.command),
      );
      expect(unchecked.map((example) => `README.md:${example.line}: ${example.command}`)).toEqual([]);
    }
  });

  const api = () => new URL(apiUrl());
  for (const block of checked) {
    it(`${block.section} (README.md:${block.line})`, async () => {
      for (const example of block.examples) {
        const command = example.command.replaceAll('localhost:3000', api().host);
        const retryUntil = Date.now() + (isRead(command) ? 30_000 : 0);
        for (;;) {
          const result = await shell.run(command);
          const { expected } = example;
          const problems: string[] = [];
          if (result.exitCode !== 0) problems.push(`exit code ${result.exitCode}`);
          if (expected?.status !== undefined && result.status !== expected.status)
            problems.push(`status ${result.status}, README says ${expected.status}`);
          if (expected?.pattern !== undefined) {
            const whole = expected.status !== undefined;
            if (!matches(result.output, expected.pattern, whole))
              problems.push(`answer does not match the README's: ${expected.pattern}`);
          }
          if (problems.length === 0) break;
          if (Date.now() > retryUntil) {
            throw new Error(
              `README.md:${example.line}: ${example.command}\n${problems.join('; ')}\noutput:\n${result.output.slice(0, 2_000)}`,
            );
          }
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
    }, 180_000);
  }
});
