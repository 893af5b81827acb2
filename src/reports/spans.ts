import { ceilTo, DAY_MS, floorTo, HOUR_MS, monthStart, nextMonthStart } from './time';

/** A rollup period: how rows are keyed (`id`), and how a time maps to the period's start. */
export interface Span {
  /** Stored in the `span` column. */
  id: number;
  source: 'hour' | 'day' | 'month';
  floor(ms: number): number;
  ceil(ms: number): number;
  /** SQL for the start of the period containing `column` (epoch ms). */
  bucketSql(column: string): string;
}

function fixed(id: number, source: Span['source']): Span {
  return { id, source, floor: (ms) => floorTo(ms, id), ceil: (ms) => ceilTo(ms, id), bucketSql: (c) => `(${c} - ${c} % ${id})` };
}

export const HOUR_SPAN = fixed(HOUR_MS, 'hour');
export const DAY_SPAN = fixed(DAY_MS, 'day');
/** Calendar months vary in length; 2592000000 (30 days) is only the id stored for them. */
export const MONTH_SPAN: Span = {
  id: 30 * DAY_MS,
  source: 'month',
  floor: monthStart,
  ceil: (ms) => (!Number.isFinite(ms) || monthStart(ms) === ms ? ms : nextMonthStart(ms)),
  bucketSql: (c) => `(CAST(strftime('%s', ${c} / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000)`,
};

/** Rollups keep hours, days and months; tag rollups days and months. */
export const ROLLUP_SPANS = [HOUR_SPAN, DAY_SPAN, MONTH_SPAN] as const;
export const TAG_ROLLUP_SPANS = [DAY_SPAN, MONTH_SPAN] as const;
