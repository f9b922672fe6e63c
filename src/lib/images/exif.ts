// Reads the capture time from an EXIF block (as sharp's metadata().exif returns it: "Exif\0\0" then a
// TIFF structure). Only the few tags needed are read; anything malformed yields undefined, never throws.
const EXIF_IFD_POINTER = 0x8769;
const DATE_TIME = 0x0132;
const DATE_TIME_ORIGINAL = 0x9003;
const DATE_TIME_DIGITIZED = 0x9004;
const OFFSET_TIME_ORIGINAL = 0x9011;
const ASCII = 2;
const LONG = 4;

type Tags = Map<number, string | number>;

function readIfd(view: DataView, offset: number, little: boolean): Tags {
  const tags: Tags = new Map();
  if (offset + 2 > view.byteLength) return tags;
  const count = view.getUint16(offset, little);
  for (let index = 0; index < count; index += 1) {
    const entry = offset + 2 + index * 12;
    if (entry + 12 > view.byteLength) break;
    const tag = view.getUint16(entry, little);
    const type = view.getUint16(entry + 2, little);
    const length = view.getUint32(entry + 4, little);
    if (type === LONG && length === 1) {
      tags.set(tag, view.getUint32(entry + 8, little));
    } else if (type === ASCII && length > 0 && length <= 64) {
      const start = length <= 4 ? entry + 8 : view.getUint32(entry + 8, little);
      if (start + length > view.byteLength) continue;
      let text = '';
      for (let position = start; position < start + length; position += 1) {
        const code = view.getUint8(position);
        if (code === 0) break;
        text += String.fromCharCode(code);
      }
      tags.set(tag, text.trim());
    }
  }
  return tags;
}

/** "YYYY:MM:DD HH:MM:SS" (+ optional "±HH:MM") → ISO 8601; without an offset the time is local to the camera. */
function toIso(value: string | number | undefined, offset: string | number | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(value);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second] = match;
  if (year === '0000') return undefined;
  const local = `${year}-${month}-${day}T${hour}:${minute}:${second}`;
  if (Number.isNaN(Date.parse(`${local}Z`))) return undefined;
  const zone = typeof offset === 'string' && /^[+-]\d{2}:\d{2}$/.test(offset) ? offset : '';
  return `${local}${zone}`;
}

export function exifCaptureTime(exif: Buffer | undefined): string | undefined {
  if (!exif || exif.length < 14) return undefined;
  const tiff = exif.subarray(0, 6).toString('latin1') === 'Exif\0\0' ? exif.subarray(6) : exif;
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  const order = tiff.subarray(0, 2).toString('latin1');
  if (order !== 'II' && order !== 'MM') return undefined;
  const little = order === 'II';
  if (view.getUint16(2, little) !== 42) return undefined;
  const ifd0 = readIfd(view, view.getUint32(4, little), little);
  const pointer = ifd0.get(EXIF_IFD_POINTER);
  const exifIfd = typeof pointer === 'number' ? readIfd(view, pointer, little) : new Map();
  return (
    toIso(exifIfd.get(DATE_TIME_ORIGINAL), exifIfd.get(OFFSET_TIME_ORIGINAL)) ??
    toIso(exifIfd.get(DATE_TIME_DIGITIZED), undefined) ??
    toIso(ifd0.get(DATE_TIME), undefined)
  );
}
