import { writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { TopLevelSpec } from 'vega-lite';

// Charts are Vega-Lite specs rendered headless by Vega's own SVG renderer (no canvas, no browser),
// then rasterised to PNG by sharp (librsvg). The spec is saved next to them, so any figure can be
// re-rendered or restyled in the Vega editor.

export interface Chart {
  name: string;
  svg: string;
  png: string;
}

const WIDTH = 560;
const HEIGHT = 300;

const config = {
  font: 'DejaVu Sans, Helvetica, Arial, sans-serif',
  axis: { labelFontSize: 11, titleFontSize: 12, grid: true },
  legend: { labelFontSize: 11, titleFontSize: 11, orient: 'bottom' as const },
  title: { fontSize: 14, anchor: 'start' as const, subtitleFontSize: 11, subtitleColor: '#555' },
  view: { stroke: '#ddd' },
};

/** Renders a spec to `<dir>/<name>.svg`, `.png` and `.vl.json`; returns the file names. */
export async function renderChart(dir: string, name: string, spec: TopLevelSpec): Promise<Chart> {
  const vega = await import('vega');
  const vegaLite = await import('vega-lite');
  const full = { ...spec, config: { ...config, ...(spec.config ?? {}) } } as TopLevelSpec;
  const compiled = vegaLite.compile(full).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  writeFileSync(path.join(dir, `${name}.svg`), svg);
  writeFileSync(path.join(dir, `${name}.vl.json`), `${JSON.stringify(full, null, 2)}\n`);
  await sharp(Buffer.from(svg), { density: 144 })
    .flatten({ background: '#ffffff' })
    .png()
    .toFile(path.join(dir, `${name}.png`));
  return { name, svg: `${name}.svg`, png: `${name}.png` };
}

/** One point per (x, series): the median, with the min–max of the runs as an error bar. */
export interface RangePoint {
  x: number | string;
  series: string;
  median: number;
  min: number;
  max: number;
}

interface Axes {
  title: string;
  subtitle?: string | string[];
  xTitle: string;
  yTitle: string;
  xLog?: boolean;
  yLog?: boolean;
  yZero?: boolean;
  seriesTitle?: string;
  /** Horizontal reference lines (targets, floors). */
  rules?: Array<{ y: number; label: string }>;
  width?: number;
  height?: number;
}

const ruleLayers = (rules: Axes['rules']) =>
  rules?.length
    ? [
        {
          data: { values: rules },
          mark: { type: 'rule' as const, strokeDash: [6, 4], color: '#b22' },
          encoding: { y: { field: 'y', type: 'quantitative' as const } },
        },
        {
          data: { values: rules },
          mark: { type: 'text' as const, align: 'left' as const, dx: 4, dy: -6, color: '#b22', fontSize: 10 },
          encoding: {
            y: { field: 'y', type: 'quantitative' as const },
            x: { value: 0 },
            text: { field: 'label', type: 'nominal' as const },
          },
        },
      ]
    : [];

/** Lines of medians over a numeric x, with min–max error bars. */
export function rangeLines(points: RangePoint[], axes: Axes): TopLevelSpec {
  const x = {
    field: 'x',
    type: 'quantitative' as const,
    title: axes.xTitle,
    scale: axes.xLog ? { type: 'log' as const } : { zero: false },
    axis: axes.xLog ? { values: [...new Set(points.map((point) => Number(point.x)))] } : {},
  };
  const yScale = axes.yLog ? { type: 'log' as const } : { zero: axes.yZero ?? true };
  const color = { field: 'series', type: 'nominal' as const, title: axes.seriesTitle ?? null };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: axes.title, subtitle: axes.subtitle },
    width: axes.width ?? WIDTH,
    height: axes.height ?? HEIGHT,
    layer: [
      {
        data: { values: points },
        layer: [
          {
            mark: { type: 'rule', strokeWidth: 1.5 },
            encoding: {
              x,
              y: { field: 'min', type: 'quantitative', title: axes.yTitle, scale: yScale },
              y2: { field: 'max' },
              color,
            },
          },
          {
            mark: { type: 'line', point: true },
            encoding: {
              x,
              y: { field: 'median', type: 'quantitative', title: axes.yTitle, scale: yScale },
              color,
            },
          },
        ],
      },
      ...ruleLayers(axes.rules),
    ],
  } as TopLevelSpec;
}

/** Grouped bars of medians per category, with min–max error bars. */
export function rangeBars(points: RangePoint[], axes: Axes & { horizontal?: boolean }): TopLevelSpec {
  const category = {
    field: 'x',
    type: 'nominal' as const,
    title: axes.xTitle,
    sort: null,
    axis: { labelAngle: 0, labelLimit: 160 },
  };
  const value = (field: string) => ({
    field,
    type: 'quantitative' as const,
    title: axes.yTitle,
    scale: axes.yLog ? { type: 'log' as const } : { zero: true },
  });
  const series = new Set(points.map((point) => point.series));
  const offset =
    series.size > 1 ? { xOffset: { field: 'series', type: 'nominal' as const, sort: null } } : {};
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: axes.title, subtitle: axes.subtitle },
    width: axes.width ?? WIDTH,
    height: axes.height ?? HEIGHT,
    layer: [
      {
        data: { values: points },
        layer: [
          {
            mark: { type: 'bar' },
            encoding: {
              x: category,
              y: value('median'),
              color: { field: 'series', type: 'nominal', title: axes.seriesTitle ?? null, sort: null },
              ...offset,
            },
          },
          {
            mark: { type: 'rule', color: '#222' },
            encoding: { x: category, y: value('min'), y2: { field: 'max' }, ...offset },
          },
        ],
      },
      ...ruleLayers(axes.rules),
    ],
  } as TopLevelSpec;
}

/** Stacked bars (e.g. cost components per scenario), with reference rules. */
export function stackedBars(
  rows: Array<{ x: string; part: string; value: number }>,
  axes: Axes,
): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: axes.title, subtitle: axes.subtitle },
    width: axes.width ?? WIDTH,
    height: axes.height ?? HEIGHT,
    layer: [
      {
        data: { values: rows },
        mark: { type: 'bar' },
        encoding: {
          x: { field: 'x', type: 'nominal', title: axes.xTitle, sort: null, axis: { labelAngle: 0 } },
          y: {
            field: 'value',
            type: 'quantitative',
            title: axes.yTitle,
            stack: 'zero',
            scale: axes.yLog ? { type: 'symlog' } : {},
          },
          color: { field: 'part', type: 'nominal', title: axes.seriesTitle ?? null, sort: null },
          order: { field: 'part' },
        },
      },
      ...ruleLayers(axes.rules),
    ],
  } as TopLevelSpec;
}

/** Cumulative counts over time (e.g. readings accepted vs stored). */
export function timeSeries(
  rows: Array<{ t: number; series: string; value: number }>,
  axes: Axes,
): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: axes.title, subtitle: axes.subtitle },
    width: axes.width ?? WIDTH,
    height: axes.height ?? HEIGHT,
    data: { values: rows },
    mark: { type: 'line', interpolate: 'step-after' },
    encoding: {
      x: { field: 't', type: 'quantitative', title: axes.xTitle },
      y: { field: 'value', type: 'quantitative', title: axes.yTitle },
      color: { field: 'series', type: 'nominal', title: axes.seriesTitle ?? null, sort: null },
    },
  } as TopLevelSpec;
}
