import type { Label, LabelInput, Labeller, PixelSample } from './labeller';
import { mergeLabels } from './labeller';

// Deterministic visual labels computed from pixels: what an image looks like, not what it shows.
// Used offline and wherever Rekognition is switched off.

export type ColourName =
  | 'black'
  | 'white'
  | 'grey'
  | 'red'
  | 'orange'
  | 'brown'
  | 'yellow'
  | 'green'
  | 'cyan'
  | 'blue'
  | 'purple'
  | 'pink';

const CHROMATIC = new Set<ColourName>([
  'red',
  'orange',
  'brown',
  'yellow',
  'green',
  'cyan',
  'blue',
  'purple',
  'pink',
]);

/** Names an sRGB colour by hue, saturation and lightness. */
export function colourName(r: number, g: number, b: number): ColourName {
  const max = Math.max(r, g, b) / 255;
  const min = Math.min(r, g, b) / 255;
  const lightness = (max + min) / 2;
  const chroma = max - min;
  const saturation = chroma === 0 ? 0 : chroma / (1 - Math.abs(2 * lightness - 1));
  if (lightness < 0.12) return 'black';
  if (lightness > 0.92) return 'white';
  if (saturation < 0.15 || chroma < 0.08) return 'grey';
  let hue: number;
  const rn = r / 255;
  const gn = g / 255;
  const bn = b / 255;
  if (max === rn) hue = (((gn - bn) / chroma) % 6) * 60;
  else if (max === gn) hue = ((bn - rn) / chroma + 2) * 60;
  else hue = ((rn - gn) / chroma + 4) * 60;
  if (hue < 0) hue += 360;
  if (hue < 15 || hue >= 345) return lightness > 0.7 ? 'pink' : 'red';
  if (hue < 45) return lightness < 0.35 ? 'brown' : 'orange';
  if (hue < 70) return lightness < 0.3 ? 'brown' : 'yellow';
  if (hue < 165) return 'green';
  if (hue < 195) return 'cyan';
  if (hue < 255) return 'blue';
  if (hue < 290) return 'purple';
  return 'pink';
}

export interface PixelStats {
  /** Share (0–1) of visible pixels per colour name. */
  colours: Map<ColourName, number>;
  /** Most frequent colour (4-bit-per-channel histogram), as #rrggbb. */
  dominant: string;
  /** Mean luma 0–255 over visible pixels. */
  brightness: number;
  /** Mean (max − min) channel spread 0–255: near 0 for greyscale images. */
  colourfulness: number;
  /** Any pixel less than fully opaque. */
  transparent: boolean;
}

const hex = (value: number) => Math.round(value).toString(16).padStart(2, '0');

export function pixelStats(sample: PixelSample): PixelStats {
  const { data } = sample;
  const counts = new Map<ColourName, number>();
  const bins = new Map<number, { count: number; r: number; g: number; b: number }>();
  let visible = 0;
  let luma = 0;
  let spread = 0;
  let transparent = false;
  for (let offset = 0; offset + 3 < data.length; offset += 4) {
    const r = data[offset] ?? 0;
    const g = data[offset + 1] ?? 0;
    const b = data[offset + 2] ?? 0;
    const alpha = data[offset + 3] ?? 255;
    if (alpha < 255) transparent = true;
    // Mostly transparent pixels have no meaningful colour.
    if (alpha < 128) continue;
    visible += 1;
    luma += 0.2126 * r + 0.7152 * g + 0.0722 * b;
    spread += Math.max(r, g, b) - Math.min(r, g, b);
    const name = colourName(r, g, b);
    counts.set(name, (counts.get(name) ?? 0) + 1);
    const bin = ((r >> 4) << 8) | ((g >> 4) << 4) | (b >> 4);
    const entry = bins.get(bin) ?? { count: 0, r: 0, g: 0, b: 0 };
    entry.count += 1;
    entry.r += r;
    entry.g += g;
    entry.b += b;
    bins.set(bin, entry);
  }
  let top: { count: number; r: number; g: number; b: number } | undefined;
  for (const entry of bins.values()) if (!top || entry.count > top.count) top = entry;
  const colours = new Map<ColourName, number>();
  for (const [name, count] of counts) colours.set(name, count / Math.max(1, visible));
  return {
    colours,
    dominant: top
      ? `#${hex(top.r / top.count)}${hex(top.g / top.count)}${hex(top.b / top.count)}`
      : '#000000',
    brightness: visible ? luma / visible : 0,
    colourfulness: visible ? spread / visible : 0,
    transparent,
  };
}

/** Colour names covering at least this share of the image become labels. */
const COLOUR_SHARE = 0.15;
const SMALL_MAX_PIXELS = 500_000;
const MEDIUM_MAX_PIXELS = 4_000_000;

export function localLabels(input: Omit<LabelInput, 'jpeg'>): Label[] {
  const stats = pixelStats(input.sample);
  const labels: Label[] = [];
  const certain = (name: string) => labels.push({ name, confidence: 100 });

  for (const [name, share] of stats.colours) {
    if (share >= COLOUR_SHARE) labels.push({ name, confidence: share * 100 });
  }
  const chromatic = [...stats.colours].filter(([name, share]) => CHROMATIC.has(name) && share >= 0.1);
  if (stats.colourfulness < 12) certain('greyscale');
  else if (chromatic.length >= 3) certain('colourful');
  if (stats.brightness < 64) certain('dark');
  else if (stats.brightness > 192) certain('bright');
  if (input.hasAlpha && stats.transparent) certain('transparent');
  if (input.animated) certain('animated');

  const ratio = input.width / input.height;
  certain(ratio > 1.05 ? 'landscape' : ratio < 0.95 ? 'portrait' : 'square');
  if (ratio >= 2 || ratio <= 0.5) certain('panorama');
  const pixels = input.width * input.height;
  certain(pixels < SMALL_MAX_PIXELS ? 'small' : pixels < MEDIUM_MAX_PIXELS ? 'medium' : 'large');
  return mergeLabels(labels);
}

export const localLabeller: Labeller = {
  name: 'local',
  detect: async (input) => localLabels(input),
};
