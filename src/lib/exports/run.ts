import { config } from '../config';
import { everyDevice } from '../devices/devices';
import { AppError, ErrorCode } from '../errors';
import { logger } from '../logger';
import { recordAudit } from '../readings/audit';
import { queryReadings, type ReadingsPage, type Window } from '../readings/query';
import {
  ALL_DEVICES,
  type ExportFailure,
  type ExportJob,
  getJob,
  markEnded,
  markRunning,
  releaseSlot,
} from './jobs';
import { PartitionedExport } from './partitions';
import { unsealPassword } from './sealed-password';

const MAX_LISTED_UNREADABLE = 100;

/** Readings that failed authentication: the export fails and names them, never silently smaller. */
class UnreadableReadingsError extends AppError {
  constructor(
    readonly deviceId: string,
    readonly ids: string[],
  ) {
    super(
      409,
      ErrorCode.Conflict,
      `${ids.length} reading(s) of device ${deviceId} failed authentication (tampered or misplaced); nothing was exported`,
    );
  }
}

class TooManyRowsError extends AppError {
  constructor(limit: number) {
    super(
      400,
      ErrorCode.ValidationError,
      `The export holds more than ${limit} readings; export a narrower window`,
    );
  }
}

export const windowOf = ({ start, end }: ExportJob['window']): Window =>
  start === undefined
    ? { kind: 'all' }
    : end === undefined
      ? { kind: 'since', start }
      : { kind: 'between', start, end };

async function* devicesOf(job: ExportJob): AsyncGenerator<string> {
  if (job.device !== ALL_DEVICES) {
    yield job.device;
    return;
  }
  for await (const device of everyDevice()) yield device.deviceId;
}

/**
 * Every page of every device's readings in the window, through the query API (its cursor, its
 * password rules, its `hidden` and `unreadable`), into files partitioned by device and day.
 */
async function produce(job: ExportJob, out: PartitionedExport, counts: { rows: number; hidden: number }) {
  const password = job.sealedPassword ? await unsealPassword(job.exportId, job.sealedPassword) : undefined;
  const window = windowOf(job.window);
  for await (const deviceId of devicesOf(job)) {
    const pageAt = (cursor?: string) => {
      const page = queryReadings({ deviceId, window, password, limit: config.EXPORT_PAGE_ROWS, cursor });
      // Awaited below, unless encoding fails first: then its outcome no longer matters.
      page.catch(() => undefined);
      return page;
    };
    // One page read ahead while the current one is encoded and uploaded: reading and encoding overlap,
    // and memory holds two pages at most.
    let next: Promise<ReadingsPage> | undefined = pageAt();
    while (next) {
      const page: ReadingsPage = await next;
      if (page.unreadable) throw new UnreadableReadingsError(deviceId, page.unreadable);
      next = page.next ? pageAt(page.next) : undefined;
      counts.hidden += page.hidden ?? 0;
      for (const row of page.data) {
        counts.rows += 1;
        if (counts.rows > config.EXPORT_MAX_ROWS) throw new TooManyRowsError(config.EXPORT_MAX_ROWS);
        await out.add({ ...row, device_id: deviceId });
      }
    }
    await out.finishAll();
  }
}

function failureOf(error: unknown): ExportFailure {
  if (error instanceof UnreadableReadingsError) {
    return {
      code: error.code,
      message: error.message,
      unreadable: error.ids.slice(0, MAX_LISTED_UNREADABLE),
    };
  }
  if (error instanceof AppError) return { code: error.code, message: error.message };
  return { code: ErrorCode.InternalError, message: 'The export failed; request it again' };
}

/**
 * Runs one export to its end. A failure the request caused (tampered rows, too many rows or files,
 * a password no longer accepted) ends it as failed at once; anything else is thrown for the queue
 * to retry, except on the last attempt, which ends it as failed. Either way its slot is given back.
 */
export async function runExport(exportId: string, lastAttempt: boolean): Promise<void> {
  const job = await getJob(exportId);
  if (!job || !(await markRunning(exportId))) {
    logger.info('export not runnable (unknown or already ended)', { exportId });
    return;
  }
  const out = new PartitionedExport(exportId, job.format);
  const counts = { rows: 0, hidden: 0 };
  const started = Date.now();
  let ended: boolean;
  try {
    await produce(job, out, counts);
    ended = await markEnded(exportId, { status: 'done', ...counts, objects: out.objects });
    logger.info('export done', {
      exportId,
      ...counts,
      objects: out.objects.length,
      ms: Date.now() - started,
    });
  } catch (error) {
    await out.abort();
    if (!(error instanceof AppError) && !lastAttempt) {
      logger.warn('export attempt failed; the queue retries it', {
        exportId,
        errorName: (error as Error).name,
      });
      throw error;
    }
    // SDK and application messages name resources and limits, never readings or passwords.
    logger.warn('export failed', {
      exportId,
      errorName: (error as Error).name,
      errorMessage: (error as Error).message,
    });
    ended = await markEnded(exportId, { status: 'failed', ...counts, error: failureOf(error) });
  }
  if (!ended) return;
  await releaseSlot(job.slot, exportId);
  await recordAudit({
    requestId: exportId,
    at: Date.now(),
    actor: job.owner,
    route: 'export-readings',
    deviceId: job.device,
    rows: counts.rows,
    action: 'export',
  });
}
