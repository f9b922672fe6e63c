import { randomUUID } from 'node:crypto';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { s3Presigner } from '../aws/s3';
import { sqs } from '../aws/sqs';
import { config } from '../config';
import { getDevice } from '../devices/devices';
import { passwordAccess } from '../devices/passwords';
import { NotFoundError, UnavailableError, ValidationError } from '../errors';
import type { Principal } from '../http/principal';
import { logger } from '../logger';
import { recordAudit } from '../readings/audit';
import type { ExportFormat } from './encoders';
import {
  ALL_DEVICES,
  type ExportJob,
  type ExportWindow,
  getJob,
  markEnded,
  type Owner,
  putJob,
  releaseSlot,
  takeSlot,
} from './jobs';
import { sealPassword } from './sealed-password';

export interface ExportRequest {
  principal: Principal;
  requestId: string;
  /** A device id, or ALL_DEVICES; already checked against the principal. */
  device: string;
  format: ExportFormat;
  window: ExportWindow;
  password?: string;
}

const ownerOf = (principal: Principal): Owner => (principal.role === 'admin' ? 'admin' : principal.deviceId);

function checkWindow({ start, end }: ExportWindow): void {
  if (start !== undefined && end !== undefined && end < start) {
    throw new ValidationError('end: must not be before start', { field: 'end' });
  }
  const max = config.EXPORT_MAX_WINDOW;
  if (max > 0 && (start === undefined || end === undefined || end - start > max)) {
    throw new ValidationError(`The window (end − start) may span at most ${max}; give start and end`, {
      field: 'end',
    });
  }
}

/**
 * Queues an export: checks what it may read now (a wrong db_password is refused here, spending a
 * guess as a query would), takes one of the caller's slots, records the job and queues its id.
 */
export async function requestExport(request: ExportRequest): Promise<{ id: string }> {
  checkWindow(request.window);
  if (request.device !== ALL_DEVICES) await getDevice(request.device);
  if (request.password !== undefined) await passwordAccess(request.device, request.password);
  const exportId = randomUUID();
  const owner = ownerOf(request.principal);
  const slot = await takeSlot(owner, exportId);
  try {
    await putJob({
      exportId,
      owner,
      device: request.device,
      format: request.format,
      window: request.window,
      status: 'queued',
      slot,
      createdAt: Date.now(),
      ...(request.password === undefined
        ? {}
        : { sealedPassword: await sealPassword(exportId, request.password) }),
    });
  } catch (error) {
    await releaseSlot(slot, exportId);
    throw error;
  }
  try {
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: config.EXPORTS_QUEUE_URL,
        MessageBody: JSON.stringify({ exportId }),
      }),
    );
  } catch (error) {
    logger.error('export could not be queued', { exportId, errorName: (error as Error).name });
    await markEnded(exportId, {
      status: 'failed',
      rows: 0,
      hidden: 0,
      error: { code: 'ServiceUnavailable', message: 'The export could not be queued' },
    });
    await releaseSlot(slot, exportId);
    throw new UnavailableError('The export could not be queued; retry the request');
  }
  await recordAudit({
    requestId: request.requestId,
    at: Date.now(),
    actor: owner,
    route: 'POST /api/exports',
    deviceId: request.device,
    rows: 0,
    action: 'export',
  });
  return { id: exportId };
}

export interface ExportView {
  id: string;
  status: ExportJob['status'];
  format: ExportFormat;
  /** The device exported, or null for every device. */
  deviceId: string | null;
  window: ExportWindow;
  createdAt: string;
  finishedAt?: string;
  rows?: number;
  hidden?: number;
  error?: ExportJob['error'];
  /** When done: one presigned URL per file, valid until `urlsExpireAt`. */
  files?: Array<{ device: string; day: string; rows: number; key: string; url: string }>;
  urlsExpireAt?: string;
}

/** An export's status; another caller's export is a 404, as if it did not exist. */
export async function exportStatus(
  principal: Principal,
  exportId: string,
  urlTtlSeconds = config.EXPORT_URL_TTL_SECONDS,
): Promise<ExportView> {
  const job = await getJob(exportId);
  if (!job || (principal.role === 'device' && job.owner !== principal.deviceId)) {
    throw new NotFoundError(`No export ${exportId}`);
  }
  const view: ExportView = {
    id: job.exportId,
    status: job.status,
    format: job.format,
    deviceId: job.device === ALL_DEVICES ? null : job.device,
    window: job.window,
    createdAt: new Date(job.createdAt).toISOString(),
  };
  if (job.finishedAt !== undefined) view.finishedAt = new Date(job.finishedAt).toISOString();
  if (job.rows !== undefined) view.rows = job.rows;
  if (job.hidden !== undefined) view.hidden = job.hidden;
  if (job.error) view.error = job.error;
  if (job.status === 'done') {
    const expires = Date.now() + urlTtlSeconds * 1000;
    view.files = await Promise.all(
      (job.objects ?? []).map(async ({ key, device, day, rows }) => ({
        device,
        day,
        rows,
        key,
        url: await getSignedUrl(
          s3Presigner,
          new GetObjectCommand({ Bucket: config.EXPORTS_BUCKET, Key: key }),
          {
            expiresIn: urlTtlSeconds,
          },
        ),
      })),
    );
    view.urlsExpireAt = new Date(expires).toISOString();
  }
  return view;
}
