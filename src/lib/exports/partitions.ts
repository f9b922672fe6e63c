import { MultipartObject } from '../aws/multipart-upload';
import { config } from '../config';
import { ValidationError } from '../errors';
import { contentTypes, type ExportFormat, type ExportRow, encoders, type RowEncoder } from './encoders';

/** One file of an export, as the job record lists it. */
export interface ExportedObject {
  key: string;
  device: string;
  day: string;
  rows: number;
}

/**
 * Hive-style keys, so Athena (or any reader of partitioned datasets) sees `device` and `day` columns:
 * exports/<id>/device=<deviceId>/day=<YYYY-MM-DD>/part-<n>.<format>. The day is the UTC calendar day of
 * the reading's absolute_timestamp (its arrival at the API): the one timestamp that is server time;
 * relative and interrogator timestamps are the device's own units and clock.
 */
export const objectKey = (
  exportId: string,
  device: string,
  day: string,
  part: number,
  format: ExportFormat,
) => `exports/${exportId}/device=${device}/day=${day}/part-${String(part).padStart(5, '0')}.${format}`;

export const exportPrefix = (exportId: string) => `exports/${exportId}/`;

/** Files open at once: rows arrive in relative-time order, so days mostly follow one another. */
const MAX_OPEN_FILES = 3;

interface OpenFile {
  object: MultipartObject;
  encoder: RowEncoder;
  listed: ExportedObject;
}

export class TooManyObjectsError extends ValidationError {
  constructor(limit: number) {
    super(`The export would write more than ${limit} files (device × day); export a narrower window`);
  }
}

/**
 * Routes rows to one file per device and day. At most MAX_OPEN_FILES files are open (each holds at
 * most a part and a row group in memory); the least recently written is finished when another is
 * needed, and a later row of its day starts the partition's next part file.
 */
export class PartitionedExport {
  readonly objects: ExportedObject[] = [];
  private readonly open = new Map<string, OpenFile>();
  private readonly partsUsed = new Map<string, number>();

  constructor(
    private readonly exportId: string,
    private readonly format: ExportFormat,
    private readonly maxObjects = config.EXPORT_MAX_OBJECTS,
  ) {}

  async add(row: ExportRow): Promise<void> {
    const day = row.absolute_timestamp.slice(0, 10);
    const partition = `${row.device_id}/${day}`;
    let file = this.open.get(partition);
    if (file) {
      // Most recently used last: Map iteration order is insertion order.
      this.open.delete(partition);
      this.open.set(partition, file);
    } else {
      file = await this.openFile(partition, row.device_id, day);
    }
    await file.encoder.add(row);
    file.listed.rows += 1;
  }

  /** Finishes every open file (all of a device's rows are in once its pages are read). */
  async finishAll(): Promise<void> {
    for (const partition of [...this.open.keys()]) await this.finish(partition);
  }

  /** Abandons the open files' uploads; finished files are left to the bucket's lifecycle rule. */
  async abort(): Promise<void> {
    const files = [...this.open.values()];
    this.open.clear();
    await Promise.allSettled(files.map((file) => file.object.abort()));
  }

  private async openFile(partition: string, device: string, day: string): Promise<OpenFile> {
    if (this.objects.length >= this.maxObjects) throw new TooManyObjectsError(this.maxObjects);
    if (this.open.size >= MAX_OPEN_FILES) {
      const leastRecent = this.open.keys().next().value as string;
      await this.finish(leastRecent);
    }
    const part = this.partsUsed.get(partition) ?? 0;
    this.partsUsed.set(partition, part + 1);
    const key = objectKey(this.exportId, device, day, part, this.format);
    const object = new MultipartObject(config.EXPORTS_BUCKET, key, contentTypes[this.format]);
    const listed: ExportedObject = { key, device, day, rows: 0 };
    this.objects.push(listed);
    const file = { object, encoder: encoders[this.format](object), listed };
    this.open.set(partition, file);
    return file;
  }

  private async finish(partition: string): Promise<void> {
    const file = this.open.get(partition);
    if (!file) return;
    this.open.delete(partition);
    await file.encoder.finish();
    await file.object.end();
  }
}
