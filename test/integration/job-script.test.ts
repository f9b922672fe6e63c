import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../scripts/local/ports';

// `npm run job -- NAME` against the running test stack (its Lambda API is the one `npm run dev` has).
const run = promisify(execFile);
const root = path.resolve(__dirname, '..', '..');
const tsx = path.join(root, 'node_modules', '.bin', 'tsx');

async function job(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(tsx, ['scripts/job.ts', ...args], {
      cwd: root,
      // The test stack's data directory holds its stack file, as `npm run dev`'s does.
      env: { ...process.env, LAMBDA_URL: '', ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('npm run job', () => {
  it('runs a scheduled function now and prints its result', async () => {
    const result = await job(['redrive-dlq', '--detail', '{"maxMessages":1}']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { moved: number; failed: number; remaining: number };
    expect(report.moved).toBeLessThanOrEqual(1);
    expect(report.failed).toBe(0);
    expect(report.remaining).toBeGreaterThanOrEqual(0);
  }, 60_000);

  it('fails with the job error when the job fails', async () => {
    const result = await job(['rollup-stats', '--detail', '{"intervalEnd":"not a time"}']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/rollup-stats failed: intervalEnd: /);
  }, 60_000);

  it('names the jobs when NAME is missing, unknown or not scheduled', async () => {
    const missing = await job([]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(
      /one of: compact-aggregates, detect-silent-devices, redrive-dlq, rollup-stats/,
    );
    const unknown = await job(['compact-everything']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(
      /no function compact-everything; the jobs are: compact-aggregates, detect-silent-devices, redrive-dlq, rollup-stats/,
    );
    const http = await job(['health']);
    expect(http.code).toBe(2);
    expect(http.stderr).toMatch(/health is not a scheduled function/);
  }, 60_000);

  it('says so, and calls nothing, when the local stack is not running', async () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'sc-job-'));
    const none = await job(['rollup-stats'], { SENSORCLOUD_DATA_DIR: empty });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(`No local stack is running for ${empty} (no stack.json there)`);
    expect(none.stderr).toContain('npm run dev');

    // A stack that was killed (no chance to remove its file): its pid is gone.
    const gone = spawnSync(process.execPath, ['-e', '']).pid;
    writeFileSync(path.join(empty, 'stack.json'), JSON.stringify({ pid: gone, urls: {} }));
    const stale = await job(['rollup-stats'], { SENSORCLOUD_DATA_DIR: empty });
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain(`(pid ${gone}) is no longer running`);

    // A live process but nothing on the Lambda port it names.
    const port = await freePort();
    writeFileSync(
      path.join(empty, 'stack.json'),
      JSON.stringify({ pid: process.pid, urls: { lambda: `http://127.0.0.1:${port}` } }),
    );
    const silent = await job(['rollup-stats'], { SENSORCLOUD_DATA_DIR: empty });
    expect(silent.code).toBe(1);
    expect(silent.stderr).toContain(`The local stack is not running: nothing listens on 127.0.0.1:${port}`);
  }, 60_000);
});
