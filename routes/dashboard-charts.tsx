/** @jsxImportSource hono/jsx */
import type { FC } from 'hono/jsx';

/**
 * Inline SVG charts for the dashboard: no script, no build step. Every chart is a figure whose
 * SVG has a title and a text description, and the dashboard puts a table with the same numbers
 * next to it, so nothing is only visual.
 */

/** Okabe–Ito colours (distinguishable with common colour-vision deficiencies), then grey for "other". */
export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#7F7F7F'];

export interface ColumnSeries {
  label: string;
  color: string;
  values: number[];
}

const WIDTH = 720;
const HEIGHT = 260;
const LEFT = 72;
const BOTTOM = 28;
const TOP = 12;

export const StackedColumns: FC<{ id: string; title: string; description: string; labels: string[]; series: ColumnSeries[]; format: (v: number) => string }> = (props) => {
  const { labels, series } = props;
  const plotWidth = WIDTH - LEFT - 8;
  const plotHeight = HEIGHT - TOP - BOTTOM;
  const totals = labels.map((_, i) => series.reduce((sum, s) => sum + Math.max(0, s.values[i] ?? 0), 0));
  const max = Math.max(...totals, 0) || 1;
  const slot = plotWidth / Math.max(labels.length, 1);
  const barWidth = Math.max(1, slot * 0.8);
  const every = Math.max(1, Math.ceil(labels.length / 8));
  const y = (v: number): number => TOP + plotHeight - (v / max) * plotHeight;
  return (
    <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-labelledby={`${props.id}-title ${props.id}-desc`} class="chart">
      <title id={`${props.id}-title`}>{props.title}</title>
      <desc id={`${props.id}-desc`}>{props.description}</desc>
      {[0, 0.5, 1].map((f) => (
        <g>
          <line x1={LEFT} x2={WIDTH - 8} y1={y(max * f)} y2={y(max * f)} class="grid" />
          <text x={LEFT - 6} y={y(max * f) + 4} text-anchor="end" class="tick">
            {props.format(max * f)}
          </text>
        </g>
      ))}
      {labels.map((label, i) => {
        let base = 0;
        const x = LEFT + i * slot + (slot - barWidth) / 2;
        return (
          <g>
            {series.map((s) => {
              const v = Math.max(0, s.values[i] ?? 0);
              if (v === 0) return null;
              const rect = (
                <rect x={x} y={y(base + v)} width={barWidth} height={Math.max(0.5, y(base) - y(base + v))} fill={s.color}>
                  <title>{`${label} · ${s.label}: ${props.format(v)}`}</title>
                </rect>
              );
              base += v;
              return rect;
            })}
            {i % every === 0 ? (
              <text x={x + barWidth / 2} y={HEIGHT - 8} text-anchor="middle" class="tick">
                {label.slice(5)}
              </text>
            ) : null}
          </g>
        );
      })}
    </svg>
  );
};

export interface Bar {
  label: string;
  value: number;
  display: string;
  color?: string;
}

/** Horizontal bars from a zero line (negative values, e.g. a lever that cost money, go left). */
export const HorizontalBars: FC<{ id: string; title: string; description: string; bars: Bar[] }> = (props) => {
  const rowHeight = 28;
  const labelWidth = 200;
  const valueWidth = 110;
  const height = Math.max(1, props.bars.length) * rowHeight + 8;
  const min = Math.min(0, ...props.bars.map((b) => b.value));
  const max = Math.max(0, ...props.bars.map((b) => b.value));
  const span = max - min || 1;
  const plot = WIDTH - labelWidth - valueWidth;
  const x = (v: number): number => labelWidth + ((v - min) / span) * plot;
  return (
    <svg viewBox={`0 0 ${WIDTH} ${height}`} role="img" aria-labelledby={`${props.id}-title ${props.id}-desc`} class="chart">
      <title id={`${props.id}-title`}>{props.title}</title>
      <desc id={`${props.id}-desc`}>{props.description}</desc>
      <line x1={x(0)} x2={x(0)} y1={0} y2={height} class="axis" />
      {props.bars.map((bar, i) => {
        const top = 4 + i * rowHeight;
        const left = Math.min(x(0), x(bar.value));
        return (
          <g>
            <text x={labelWidth - 8} y={top + 17} text-anchor="end" class="label">
              {bar.label}
            </text>
            <rect x={left} y={top + 4} width={Math.max(0.5, Math.abs(x(bar.value) - x(0)))} height={rowHeight - 10} fill={bar.color ?? PALETTE[0]}>
              <title>{`${bar.label}: ${bar.display}`}</title>
            </rect>
            <text x={WIDTH - valueWidth + 8} y={top + 17} class="label">
              {bar.display}
            </text>
          </g>
        );
      })}
    </svg>
  );
};
