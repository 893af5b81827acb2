import { sql, type SQL } from 'drizzle-orm';
import { LATENCY_BUCKETS, latencyBucketSql, latencyColumn } from './latency';
import { COUNT_MEASURES, MONEY_MEASURES, ROLLUP_COLUMNS, PLAIN_COLUMNS } from './measures';

/**
 * Where report numbers come from, as SQL subqueries with the same columns (key_id, user, team,
 * project, provider, family, model, tier, tags, start, then the summed columns): raw ledger events
 * (one row each), rollup rows (no tags: `{}`), and tag rollup rows (`tags` holds the one tag the row
 * is about; no latency histogram: zeros). Aggregating rollup rows with `sumColumns` and raw events
 * with `sumColumns` over the plain columns plus `histogramFromBuckets` gives the same sums.
 */

/** The interned dimensions of a rollup row (everything but tags). */
export const DIMENSION_COLUMNS = ['key_id', 'user', 'team', 'project', 'provider', 'family', 'model', 'tier'] as const;

function quoted(names: readonly string[], prefix = ''): string {
  return names.map((name) => `${prefix}"${name}"`).join(', ');
}

/** The dimension columns as the ledger names them (`served_model` for `model`). */
function eventColumn(column: string): string {
  return column === 'model' ? 'served_model' : `"${column}"`;
}

/** The interned-dimensions key: json_array of the dimension columns, as SQLite writes it. */
export function fingerprintSql(prefix: string, ledgerNames: boolean): string {
  return `json_array(${DIMENSION_COLUMNS.map((c) => `${prefix}${ledgerNames ? eventColumn(c) : `"${c}"`}`).join(', ')})`;
}

export const DIMENSION_COLUMN_LIST = quoted(DIMENSION_COLUMNS);
export const EVENT_DIMENSION_LIST = DIMENSION_COLUMNS.map(eventColumn).join(', ');
export const ROLLUP_COLUMN_LIST = quoted(ROLLUP_COLUMNS);
export const PLAIN_COLUMN_LIST = quoted(PLAIN_COLUMNS);

const EVENT_PROJECTION = [
  ...DIMENSION_COLUMNS.map((c) => `${eventColumn(c)} AS "${c}"`),
  `CASE WHEN json_valid(tags) THEN tags ELSE '{}' END AS tags`,
  'time AS "start"',
  ...COUNT_MEASURES.map((m) => `${m.event} AS "${m.column}"`),
  ...MONEY_MEASURES.map((m) => `${m.event} AS "${m.column}"`),
  `${latencyBucketSql('latency_ms')} AS latency_bucket`,
].join(', ');

/**
 * Each ledger event matching `where` as one contribution row. Its latency is the number of its
 * histogram bucket (`latency_bucket`), not a 0/1 column per bucket: callers count events per bucket
 * and spread the counts into the histogram's columns (`histogramFromBuckets`), which costs a small
 * part of summing 153 columns per event.
 */
export function eventSource(where: SQL): SQL {
  return sql`SELECT ${sql.raw(EVENT_PROJECTION)} FROM usage_events WHERE ${where}`;
}

/**
 * The histogram columns summed from rows that each count `n` events in bucket `latency_bucket`:
 * the same sums as `sumColumns` over per-event 0/1 columns, from far fewer rows.
 */
export function histogramFromBuckets(): string {
  return Array.from({ length: LATENCY_BUCKETS }, (_, i) => `sum(CASE WHEN latency_bucket = ${i} THEN n ELSE 0 END) AS "${latencyColumn(i)}"`).join(', ');
}

const ROLLUP_PROJECTION = `${quoted(DIMENSION_COLUMNS, 'd.')}, '{}' AS tags, r."start", ${quoted(ROLLUP_COLUMNS, 'r.')}`;
const TAG_ROLLUP_PROJECTION = `${quoted(DIMENSION_COLUMNS, 'd.')}, json_object(r.tag_name, r.tag_value) AS tags, r."start", ${quoted(PLAIN_COLUMNS, 'r.')}, ${Array.from({ length: LATENCY_BUCKETS }, (_, i) => `0 AS "${latencyColumn(i)}"`).join(', ')}`;

/** Rollup rows of one span whose start is in [fromMs, toMs). */
export function rollupSource(span: number, fromMs: number, toMs: number, keyId: string | undefined): SQL {
  const key = keyId === undefined ? sql`` : sql` AND d.key_id = ${keyId}`;
  return sql`SELECT ${sql.raw(ROLLUP_PROJECTION)} FROM report_rollups r JOIN report_dims d ON d.id = r.dim_id WHERE r.span = ${span} AND r."start" >= ${fromMs} AND r."start" < ${toMs}${key}`;
}

/** Tag rollup rows of one span and tag name whose start is in [fromMs, toMs). */
export function tagRollupSource(span: number, tagName: string, fromMs: number, toMs: number, keyId: string | undefined): SQL {
  const key = keyId === undefined ? sql`` : sql` AND d.key_id = ${keyId}`;
  return sql`SELECT ${sql.raw(TAG_ROLLUP_PROJECTION)} FROM report_tag_rollups r JOIN report_dims d ON d.id = r.dim_id WHERE r.span = ${span} AND r.tag_name = ${tagName} AND r."start" >= ${fromMs} AND r."start" < ${toMs}${key}`;
}

/** `sum(col) AS col` for every summed column; money as text when read (`forRead`), exact past 2^53. */
export function sumColumns(forRead: boolean, prefix = '', columns: readonly string[] = ROLLUP_COLUMNS): string {
  const money = new Set<string>(MONEY_MEASURES.map((m) => m.column));
  return columns.map((c) => (forRead && money.has(c) ? `CAST(sum(${prefix}"${c}") AS TEXT) AS "${c}"` : `sum(${prefix}"${c}") AS "${c}"`)).join(', ');
}
