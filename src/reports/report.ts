import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client';
import { dimensionSql, dimensionValue, type Dimension } from './dimensions';
import { addMeasures, emptyMeasures, measuresFromRow, type Measures } from './measures';
import { rollupsValidFrom } from './rollups';
import { eventSource, rollupSource, sumColumns } from './sources';
import { ceilTo, DAY_MS, floorTo, HOUR_MS } from './time';

/** Where one slice of a report's range is read from. */
export interface Segment {
  source: 'raw' | 'hour' | 'day';
  start: number;
  end: number;
}

/**
 * Splits [from, to) so that whole UTC days read daily rollups, the whole hours around them hourly
 * rollups, and the partial hours at the edges (and anything before `validFrom`, the start of
 * complete rollups) the raw ledger. The slices are disjoint and cover the range exactly.
 */
export function planSegments(fromMs: number, toMs: number, validFrom: number): Segment[] {
  const segments: Segment[] = [];
  const push = (source: Segment['source'], start: number, end: number): void => {
    if (start < end) segments.push({ source, start, end });
  };
  const hourStart = Math.max(ceilTo(fromMs, HOUR_MS), ceilTo(validFrom, HOUR_MS));
  const hourEnd = floorTo(toMs, HOUR_MS);
  if (!(hourStart < hourEnd)) {
    push('raw', fromMs, toMs);
    return segments;
  }
  push('raw', fromMs, hourStart);
  const dayStart = ceilTo(hourStart, DAY_MS);
  const dayEnd = floorTo(hourEnd, DAY_MS);
  if (dayStart < dayEnd) {
    push('hour', hourStart, dayStart);
    push('day', dayStart, dayEnd);
    push('hour', dayEnd, hourEnd);
  } else {
    push('hour', hourStart, hourEnd);
  }
  push('raw', hourEnd, toMs);
  return segments;
}

export interface ReportQuery {
  fromMs: number;
  /** Exclusive. */
  toMs: number;
  groupBy: readonly Dimension[];
  /** Only this key's events (a principal's own view). */
  keyId?: string;
}

export interface ReportRow {
  /** Values of the group_by dimensions, in order (null where the events had none). */
  group: (string | null)[];
  measures: Measures;
}

export interface Report {
  query: ReportQuery;
  rows: ReportRow[];
  totals: Measures;
  segments: Segment[];
}

function segmentSource(segment: Segment, keyId: string | undefined): SQL {
  if (segment.source === 'raw') {
    const key = keyId === undefined ? sql`` : sql` AND key_id = ${keyId}`;
    return eventSource(sql`time >= ${segment.start} AND time < ${segment.end}${key}`);
  }
  return rollupSource(segment.source === 'hour' ? HOUR_MS : DAY_MS, segment.start, segment.end, keyId);
}

function aggregate(source: SQL, groupBy: readonly Dimension[]): SQL {
  const groups = groupBy.map((d, i) => sql`${dimensionSql(d)} AS ${sql.raw(`g${i}`)}`);
  const select = groups.length ? sql`${sql.join(groups, sql`, `)}, ` : sql``;
  const groupClause = groups.length ? sql.raw(` GROUP BY ${groupBy.map((_, i) => i + 1).join(', ')}`) : sql``;
  return sql`SELECT ${select}${sql.raw(sumColumns(true))} FROM (${source})${groupClause}`;
}

function compareRows(groupBy: readonly Dimension[]): (a: ReportRow, b: ReportRow) => number {
  const dayIndex = groupBy.indexOf('day');
  const text = (x: string | null, y: string | null): number => (x === y ? 0 : x === null ? 1 : y === null ? -1 : x < y ? -1 : 1);
  return (a, b) => {
    if (dayIndex !== -1) {
      const byDay = text(a.group[dayIndex]!, b.group[dayIndex]!);
      if (byDay !== 0) return byDay;
    }
    const byCost = b.measures.money.cost_nusd - a.measures.money.cost_nusd;
    if (byCost !== 0n) return byCost > 0n ? 1 : -1;
    for (let i = 0; i < a.group.length; i++) {
      const byValue = text(a.group[i]!, b.group[i]!);
      if (byValue !== 0) return byValue;
    }
    return 0;
  };
}

/**
 * Aggregates the ledger over [from, to) by the given dimensions. Reads come from one consistent
 * snapshot (a single batch) and every sum is an exact integer, so the totals equal the raw
 * ledger's sums to the nano-dollar. Rows are ordered by day (when grouped by day), then cost
 * (highest first), then the group values.
 */
export async function runReport(db: Db, query: ReportQuery): Promise<Report> {
  const segments = planSegments(query.fromMs, query.toMs, await rollupsValidFrom(db));
  const totals = emptyMeasures();
  if (segments.length === 0) return { query, rows: [], totals, segments };
  const [first, ...rest] = segments.map((segment) => db.all<Record<string, unknown>>(aggregate(segmentSource(segment, query.keyId), query.groupBy)));
  const results = (await db.batch([first!, ...rest])) as Record<string, unknown>[][];

  const rows = new Map<string, ReportRow>();
  for (const result of results) {
    for (const raw of result) {
      const measures = measuresFromRow(raw);
      if (measures.counts.requests === 0) continue;
      const group = query.groupBy.map((d, i) => dimensionValue(d, raw[`g${i}`]));
      const id = JSON.stringify(group);
      const row = rows.get(id);
      if (row) addMeasures(row.measures, measures);
      else rows.set(id, { group, measures });
      addMeasures(totals, measures);
    }
  }
  return { query, rows: [...rows.values()].sort(compareRows(query.groupBy)), totals, segments };
}
