import { randomUUID } from 'node:crypto';
import { serveWorker } from '../lib/workers';

// One export in a process of its own, as the export-readings function runs it: the job recorded,
// then the worker's code end to end (query API pages → encoder → S3 multipart) against DynamoDB Local
// and the S3 emulator. Its peak RSS is this process's, so one run per process.

export interface ExportInput {
  deviceId: string;
  format: 'csv' | 'parquet';
}

export interface ExportOutput {
  rows: number;
  seconds: number;
  files: number;
  /** Resident set before the export started (modules loaded) and its peak during the export. */
  baselineRssMb: number;
  peakRssMb: number;
}

serveWorker<ExportInput, ExportOutput>(async (input) => {
  const { getJob, putJob, takeSlot } = await import('../../src/lib/exports/jobs');
  const { runExport } = await import('../../src/lib/exports/run');
  const exportId = randomUUID();
  const owner = `bench-${exportId}`;
  const slot = await takeSlot(owner, exportId);
  await putJob({
    exportId,
    owner,
    device: input.deviceId,
    format: input.format,
    window: {},
    status: 'queued',
    slot,
    createdAt: Date.now(),
  });
  const baselineRssMb = process.memoryUsage().rss / 1024 / 1024;
  const started = performance.now();
  await runExport(exportId, true);
  const seconds = (performance.now() - started) / 1000;
  const job = await getJob(exportId);
  if (job?.status !== 'done') throw new Error(`export ended ${job?.status}: ${JSON.stringify(job?.error)}`);
  return {
    rows: job.rows ?? 0,
    seconds,
    files: job.objects?.length ?? 0,
    baselineRssMb,
    // maxRSS is in KiB.
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
});
