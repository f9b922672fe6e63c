/** A label as stored and returned: lower-case name, confidence 0–100. */
export interface Label {
  name: string;
  confidence: number;
}

/** A small RGBA rendering of the (auto-oriented) image, for pixel statistics. */
export interface PixelSample {
  data: Buffer;
  width: number;
  height: number;
  channels: 4;
}

export interface LabelInput {
  /** The largest JPEG thumbnail: what Rekognition sees (it takes JPEG or PNG bytes, ≤ 5 MB). */
  jpeg: Buffer;
  sample: PixelSample;
  /** Dimensions of the original after auto-orientation. */
  width: number;
  height: number;
  animated: boolean;
  hasAlpha: boolean;
}

export interface Labeller {
  readonly name: 'rekognition' | 'local';
  detect(input: LabelInput): Promise<Label[]>;
}

/** Lower-case, single spaces, trimmed: the form labels are stored, indexed and searched in. */
export function normaliseLabel(name: string): string {
  return name.normalize('NFC').trim().replace(/\s+/g, ' ').toLowerCase();
}

/** Normalises, drops empties and keeps the highest confidence per name, most confident first. */
export function mergeLabels(labels: Iterable<Label>): Label[] {
  const best = new Map<string, number>();
  for (const label of labels) {
    const name = normaliseLabel(label.name);
    if (!name || name.length > 100) continue;
    const confidence = Math.round(Math.min(100, Math.max(0, label.confidence)) * 10) / 10;
    best.set(name, Math.max(best.get(name) ?? 0, confidence));
  }
  return [...best]
    .map(([name, confidence]) => ({ name, confidence }))
    .sort((a, b) => b.confidence - a.confidence || a.name.localeCompare(b.name));
}
