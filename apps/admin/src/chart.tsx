/**
 * A time-series chart drawn by uPlot (canvas; small and fast for live data). The canvas is
 * described for screen readers by the figure's caption and an `aria-label` with the latest values;
 * the legend is ours (uPlot's is a table without headers).
 */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';

export interface ChartSeries {
  readonly label: string;
  readonly color: string;
}

export interface TimeChartProps {
  readonly title: string;
  readonly testId: string;
  /** Bucket starts, seconds since the epoch. */
  readonly xs: readonly number[];
  /** One array per series, aligned with `xs`. */
  readonly ys: ReadonlyArray<readonly number[]>;
  readonly series: readonly ChartSeries[];
  /** Formats a y value for the axis and the summary. */
  readonly format: (value: number) => string;
}

const axis = { stroke: '#8b93a7', grid: { stroke: '#2a2f3d', width: 1 }, ticks: { show: false } };

export function TimeChart(props: TimeChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const { xs, ys, series, format } = props;

  useEffect(() => {
    const element = box.current;
    if (element === null) return;
    const made = new uPlot(
      {
        width: Math.max(element.clientWidth, 200),
        height: 180,
        legend: { show: false },
        cursor: { show: true, drag: { x: false, y: false } },
        scales: { x: { time: true } },
        axes: [axis, { ...axis, size: 70, values: (_u, values) => values.map(format) }],
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2 }))],
      },
      [[], ...series.map(() => [])],
      element,
    );
    plot.current = made;
    const resize = new ResizeObserver(() =>
      made.setSize({ width: Math.max(element.clientWidth, 200), height: 180 }),
    );
    resize.observe(element);
    return () => {
      resize.disconnect();
      made.destroy();
      plot.current = undefined;
    };
  }, [series, format]);

  useEffect(() => {
    plot.current?.setData([xs as number[], ...ys.map((y) => y as number[])]);
  }, [xs, ys]);

  const latest = series.map((s, i) => `${s.label} ${format(ys[i]?.at(-1) ?? 0)}`).join(', ');
  return (
    <figure className="chart" data-testid={props.testId}>
      <figcaption>
        <strong>{props.title}</strong>
        <span className="legend">
          {series.map((s) => (
            <span key={s.label}>
              <span className="swatch" style={{ background: s.color }} aria-hidden="true" />
              {s.label}
            </span>
          ))}
        </span>
      </figcaption>
      <div ref={box} role="img" aria-label={`${props.title}, latest bucket: ${latest}`} />
    </figure>
  );
}
