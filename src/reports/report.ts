import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client';
import { dimensionSql, dimensionValue, type GroupDimension } from './dimensions';
import { addMeasures, emptyMeasures, measuresFromRow, ROLLUP_COLUMNS, PLAIN_COLUMNS, type Measures } from './measures';
import { rollupsValidFrom } from './rollups';
import { eventSource, histogramFromBuckets, rollupSource, sumColumns, tagRollupSource } from './sources';
import { HOUR_SPAN, MONTH_SPAN, ROLLUP_SPANS, TAG_ROLLUP_SPANS, type Span } from './spans';

/** Where one slice of a report's range is read from, and whether it is added or taken away. */
export interface Segment {
  source: 'raw' | Span['source'];
  start: number;
  end: number;
  /** -1: a slice of a whole period read by another segment that lies outside the range. */
  sign: 1 | -1;
}

/**
 * Splits [from, to) into reads: whole periods of the coarsest span from its rollups, the rest
 * from the next finer span, and what no span covers (the partial hours at the edges, and anything
 * before `validFrom`, the start of complete rollups) from the raw ledger. A period more than half
 * covered is read whole, minus the part outside the range (month to date is this month's row,
 * minus the rest of the month, which holds nothing yet). Added up with their signs, the reads
 * count every event in the range exactly once. `spans` are finest first.
 */
export function planSegments(fromMs: number, toMs: number, validFrom: number, spans: readonly Span[]): Segment[] {
  const trusted = HOUR_SPAN.ceil(validFrom);
  const plan = (start: number, end: number, levels: readonly Span[], sign: 1 | -1): Segment[] => {
    if (!(start < end)) return [];
    const top = levels[levels.length - 1];
    if (!top) return [{ source: 'raw', start, end, sign }];
    const finer = levels.slice(0, -1);
    const segments: Segment[] = [];
    let run: Segment | undefined;
    for (let period = top.floor(start); period < end; period = top.ceil(period + 1)) {
      const periodEnd = top.ceil(period + 1);
      const a = Math.max(period, start);
      const b = Math.min(periodEnd, end);
      if (a === period && b === periodEnd) {
        if (run) run.end = periodEnd;
        else segments.push((run = { source: top.source, start: period, end: periodEnd, sign }));
        continue;
      }
      run = undefined;
      if (period >= trusted && (b - a) * 2 > periodEnd - period) {
        segments.push({ source: top.source, start: period, end: periodEnd, sign }, ...plan(period, a, finer, -sign as 1 | -1), ...plan(b, periodEnd, finer, -sign as 1 | -1));
      } else {
        segments.push(...plan(a, b, finer, sign));
      }
    }
    return segments;
  };
  const split = Math.min(Math.max(fromMs, trusted), toMs);
  return [...plan(fromMs, split, [], 1), ...plan(split, toMs, spans, 1)];
}

export interface ReportQuery {
  fromMs: number;
  /** Exclusive. */
  toMs: number;
  groupBy: readonly GroupDimension[];
  /** Only this key's events (a principal's own view). */
  keyId?: string;
  /** False skips the latency histogram (about nine tenths of the columns) when only money and counts are needed. */
  latency?: boolean;
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

/** The report's group columns `g0`, `g1`, ...: their SELECT items (each followed by a comma), their names, and the GROUP BY on them (empty without groups). */
function groupColumns(query: ReportQuery): { select: SQL; names: string[]; groupClause: string } {
  const names = query.groupBy.map((_, i) => `g${i}`);
  const select = sql.join(query.groupBy.map((d, i) => sql`${dimensionSql(d)} AS ${sql.raw(names[i]!)}, `), sql``);
  return { select, names, groupClause: names.length ? ` GROUP BY ${names.join(', ')}` : '' };
}

function aggregate(source: SQL, query: ReportQuery): SQL {
  const { select, groupClause } = groupColumns(query);
  const columns = query.latency === false ? PLAIN_COLUMNS : ROLLUP_COLUMNS;
  return sql`SELECT ${select}${sql.raw(sumColumns(true, '', columns))} FROM (${source})${sql.raw(groupClause)}`;
}

/**
 * `aggregate` over raw ledger events. The latency histogram is counted per group and bucket first
 * and spread into its columns after, as the rollups do: a 0/1 column per bucket per event was most
 * of a raw read's work.
 */
function aggregateEvents(where: SQL, query: ReportQuery): SQL {
  const source = eventSource(where);
  if (query.latency === false) return aggregate(source, query);
  const { select, names, groupClause } = groupColumns(query);
  const perBucket = sql`SELECT ${select}latency_bucket, count(*) AS n, ${sql.raw(sumColumns(false, '', PLAIN_COLUMNS))} FROM (${source}) GROUP BY ${sql.raw([...names, 'latency_bucket'].join(', '))}`;
  return sql`SELECT ${sql.raw(names.map((name) => `${name}, `).join(''))}${sql.raw(sumColumns(true, '', PLAIN_COLUMNS))}, ${sql.raw(histogramFromBuckets())} FROM (${perBucket})${sql.raw(groupClause)}`;
}

function compareRows(groupBy: readonly GroupDimension[]): (a: ReportRow, b: ReportRow) => number {
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

interface Read {
  sql: SQL;
  sign: 1 | -1;
  /** Rows of tagged events only, also counted (untagged) in the plain rollup read of the same slice. */
  tagged: boolean;
}

/**
 * How each segment is read. Without tag dimensions: rollups at every span. With one `tag:<name>`:
 * tag rollups (days and months) for the tagged events, and the plain rollups of the same slice
 * for the rest (their total minus the tagged rows). With more tag dimensions: the raw ledger.
 */
function reads(query: ReportQuery, segments: Segment[]): Read[] {
  const tagDims = query.groupBy.filter((d) => d.startsWith('tag:'));
  return segments.flatMap((segment): Read[] => {
    if (segment.source === 'raw') {
      const key = query.keyId === undefined ? sql`` : sql` AND key_id = ${query.keyId}`;
      return [{ sql: aggregateEvents(sql`time >= ${segment.start} AND time < ${segment.end}${key}`, query), sign: segment.sign, tagged: false }];
    }
    const span = ROLLUP_SPANS.find((s) => s.source === segment.source)!;
    const plain = { sql: aggregate(rollupSource(span.id, segment.start, segment.end, query.keyId), query), sign: segment.sign, tagged: false };
    if (tagDims.length !== 1) return [plain];
    return [plain, { sql: aggregate(tagRollupSource(span.id, tagDims[0]!.slice(4), segment.start, segment.end, query.keyId), query), sign: segment.sign, tagged: true }];
  });
}

/**
 * Aggregates the ledger over [from, to) by the given dimensions. Reads come from one consistent
 * snapshot (a single batch) and every sum is an exact integer, so the totals equal the raw
 * ledger's sums to the nano-dollar. Rows are ordered by day (when grouped by day), then cost
 * (highest first), then the group values.
 */
export async function runReport(db: Db, query: ReportQuery): Promise<Report> {
  const tagDims = query.groupBy.filter((d) => d.startsWith('tag:')).length;
  const available = tagDims === 0 ? ROLLUP_SPANS : tagDims === 1 ? TAG_ROLLUP_SPANS : [];
  // Grouped by day, no row may cover more than a day.
  const spans = query.groupBy.includes('day') ? available.filter((s) => s !== MONTH_SPAN) : available;
  const segments = planSegments(query.fromMs, query.toMs, await rollupsValidFrom(db), spans);
  const totals = emptyMeasures();
  if (segments.length === 0) return { query, rows: [], totals, segments };
  const planned = reads(query, segments);
  const [first, ...rest] = planned.map((read) => db.all<Record<string, unknown>>(read.sql));
  const results = (await db.batch([first!, ...rest])) as Record<string, unknown>[][];

  const tagIndex = query.groupBy.findIndex((d) => d.startsWith('tag:'));
  const rows = new Map<string, ReportRow>();
  const add = (group: (string | null)[], measures: Measures, sign: 1 | -1): void => {
    const id = JSON.stringify(group);
    const row = rows.get(id);
    if (row) addMeasures(row.measures, measures, sign);
    else {
      const fresh = { group, measures: emptyMeasures() };
      addMeasures(fresh.measures, measures, sign);
      rows.set(id, fresh);
    }
  };
  results.forEach((result, i) => {
    const { sign, tagged } = planned[i]!;
    for (const raw of result) {
      const measures = measuresFromRow(raw);
      const group = query.groupBy.map((d, g) => dimensionValue(d, raw[`g${g}`]));
      add(group, measures, sign);
      if (tagged) {
        // Tagged rows were also counted, untagged, in the plain rollup's row: move them out of it.
        add(group.map((v, g) => (g === tagIndex ? null : v)), measures, sign === 1 ? -1 : 1);
      } else {
        addMeasures(totals, measures, sign);
      }
    }
  });
  const kept = [...rows.values()].filter((row) => row.measures.counts.requests !== 0);
  // Tag rollups keep no latency histogram, so rows grouped by a tag have no percentiles (their
  // mean latency stays); the totals do not depend on the tag and keep theirs.
  if (tagIndex !== -1) for (const row of kept) row.measures.latency = [];
  return { query, rows: kept.sort(compareRows(query.groupBy)), totals, segments };
}
