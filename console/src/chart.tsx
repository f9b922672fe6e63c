// Time-series charts with uPlot: canvas drawing that stays smooth with 100,000+ points.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  label: string;
  values: Array<number | null>;
}

const COLOURS = ['#0b5cad', '#b3261e', '#1b7a3a', '#8a4b00', '#6a3fa0', '#00677d'];

export interface TimeChartProps {
  /** Names the chart for assistive technology (the canvas itself says nothing). */
  title: string;
  /** Unix seconds, ascending. */
  x: number[];
  series: ChartSeries[];
  height?: number;
  /** Called after each draw with how long uPlot took (the frame-time measurement). */
  onDraw?: (milliseconds: number) => void;
}

export function TimeChart({ title, x, series, height = 240, onDraw }: TimeChartProps) {
  const container = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = container.current;
    if (!element) return;
    let drawStarted = performance.now();
    const plot = new uPlot(
      {
        width: Math.max(element.clientWidth, 200),
        height,
        series: [
          {},
          ...series.map((line, index) => ({
            label: line.label,
            stroke: COLOURS[index % COLOURS.length],
            width: 1.5,
            points: { show: x.length < 200 },
          })),
        ],
        axes: [{ stroke: '#333' }, { stroke: '#333' }],
        cursor: { drag: { x: true, y: false } },
        hooks: {
          drawClear: [() => (drawStarted = performance.now())],
          draw: [
            () => {
              const took = performance.now() - drawStarted;
              // Read by the browser tests' frame-time measurement.
              element.dataset.drawMs = took.toFixed(2);
              onDraw?.(took);
            },
          ],
        },
      },
      [x, ...series.map((line) => line.values)] as uPlot.AlignedData,
      element,
    );
    const resize = new ResizeObserver(() =>
      plot.setSize({ width: Math.max(element.clientWidth, 200), height }),
    );
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [x, series, height, onDraw]);
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={container} role="img" aria-label={`${title}: ${x.length.toLocaleString()} points`} />
    </figure>
  );
}
