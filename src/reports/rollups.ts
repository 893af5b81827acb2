import { sql, type SQL } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import type { Db } from '../db/client';
import type { FlushHook, LedgerEvent } from '../ledger/writer';
import { chunks } from '../util/chunks';
import { PLAIN_COLUMNS, ROLLUP_COLUMNS } from './measures';
import { DIMENSION_COLUMN_LIST, DIMENSION_COLUMNS, EVENT_DIMENSION_LIST, eventSource, fingerprintSql, histogramFromBuckets, PLAIN_COLUMN_LIST, ROLLUP_COLUMN_LIST, sumColumns } from './sources';
import { DAY_SPAN, HOUR_SPAN, MONTH_SPAN, ROLLUP_SPANS, TAG_ROLLUP_SPANS, type Span } from './spans';
import { ceilTo, DAY_MS, floorTo, HOUR_MS, monthStart, nextMonthStart } from './time';

/**
 * Rollups of the ledger: per hour, day and month, and per tag per day and month. They are written
 * by the ledger writer's flush hook in the same transaction as the events, so a committed event is
 * always rolled up and a failed flush leaves neither. The writer hands the hook only events not
 * already in the ledger (a retry after an ambiguous failure drops the ones that did commit), so
 * nothing is counted twice; the sums are computed by SQL from the stored rows. `rebuildDay`
 * recomputes a day from the ledger in one transaction: the `rollup` job uses it to backfill events
 * written before rollups existed and to repair any day whose rollups disagree with the ledger.
 */

const STATE_ID = 'rollups';

const upsertSet = (columns: readonly string[]): string => columns.map((c) => `"${c}" = "${c}" + excluded."${c}"`).join(', ');

function internDims(where: SQL): SQL {
  return sql`INSERT INTO report_dims (fingerprint, ${sql.raw(DIMENSION_COLUMN_LIST)}) SELECT DISTINCT ${sql.raw(fingerprintSql('', true))}, ${sql.raw(EVENT_DIMENSION_LIST)} FROM usage_events WHERE ${where} ON CONFLICT (fingerprint) DO NOTHING`;
}

const JOIN_DIMS = `JOIN report_dims d ON d.fingerprint = ${fingerprintSql('s.', false)}`;

/**
 * One statement that adds the events matching `where` to a rollup table at every span in `spans`
 * (finest first): the events are read and summed once, at the finest span, and each coarser span
 * sums those sums. The latency histogram is counted per bucket first and spread into its columns
 * after: a column per bucket per event would be most of the statement's work.
 */
function addToTable(table: 'report_rollups' | 'report_tag_rollups', spans: readonly Span[], where: SQL): SQL {
  const [finest, ...coarser] = spans;
  if (!finest) throw new Error('no spans');
  const tagged = table === 'report_tag_rollups';
  const columns = tagged ? PLAIN_COLUMNS : ROLLUP_COLUMNS;
  const columnList = tagged ? PLAIN_COLUMN_LIST : ROLLUP_COLUMN_LIST;
  const keys = tagged ? ['dim_id', 'tag_name', 'tag_value'] : ['dim_id'];
  const keyList = keys.join(', ');
  const positions = keys.map((_, i) => i + 3).join(', ');
  const start = sql.raw(`${finest.bucketSql('s."start"')} AS "start"`);
  const events = sql`FROM (${eventSource(where)}) s ${sql.raw(JOIN_DIMS)}`;
  const plainSums = sql.raw(sumColumns(false, 's.', PLAIN_COLUMNS));
  // Only scalar tag values; `tags` is always valid JSON here (eventSource guarantees it).
  const finestRows = tagged
    ? sql`finest AS MATERIALIZED (SELECT ${start}, d.id AS dim_id, t.key AS tag_name, CAST(t.atom AS TEXT) AS tag_value, ${plainSums} ${events} JOIN json_each(s.tags) t WHERE t.atom IS NOT NULL GROUP BY 2, 3, 4, 1)`
    : sql`per_bucket AS MATERIALIZED (SELECT ${start}, d.id AS dim_id, s.latency_bucket AS latency_bucket, count(*) AS n, ${plainSums} ${events} WHERE true GROUP BY 2, 3, 1), finest AS MATERIALIZED (SELECT "start", dim_id, ${sql.raw(sumColumns(false, '', PLAIN_COLUMNS))}, ${sql.raw(histogramFromBuckets())} FROM per_bucket WHERE true GROUP BY 1, 2)`;
  const levels = coarser.map((span) => sql.raw(` UNION ALL SELECT ${span.id}, ${span.bucketSql('"start"')}, ${keyList}, ${sumColumns(false, '', columns)} FROM finest WHERE true GROUP BY 2, ${positions}`));
  return sql`WITH ${finestRows} INSERT INTO ${sql.raw(table)} (span, "start", ${sql.raw(keyList)}, ${sql.raw(columnList)}) SELECT ${finest.id}, "start", ${sql.raw(keyList)}, ${sql.raw(columnList)} FROM finest WHERE true${sql.join(levels, sql``)} ON CONFLICT DO UPDATE SET ${sql.raw(upsertSet(columns))}`;
}

/** The statements that add the ledger events matching `where` to every rollup. */
function rollUp(where: SQL, spans: readonly Span[], tagSpans: readonly Span[]): SQL[] {
  return [internDims(where), addToTable('report_rollups', spans, where), addToTable('report_tag_rollups', tagSpans, where)];
}

/** The flush hook: rolls up the batch's events, in the ledger's transaction. */
export function rollupFlushHook(db: Db): FlushHook {
  // The statements (56 KB of SQL) are the same for every batch but for the ids parameter: rendered once.
  const IDS = Symbol('batch ids');
  const queries = rollUp(sql`id IN (SELECT value FROM json_each(${IDS}))`, ROLLUP_SPANS, TAG_ROLLUP_SPANS).map((statement) => db.run(statement).getQuery());
  return (events) =>
    byDimensionSets(events).flatMap((part) => {
      const ids = JSON.stringify(part.map((e) => e.id));
      return queries.map(({ sql: text, params }) => {
        const bound = params.map((param) => (param === IDS ? ids : param));
        return { toSQL: () => ({ sql: text, params: bound }) };
      });
    });
}

/** The ledger field behind each interned dimension column. */
const EVENT_DIMENSIONS: Record<(typeof DIMENSION_COLUMNS)[number], keyof LedgerEvent> = {
  key_id: 'keyId',
  user: 'user',
  team: 'team',
  project: 'project',
  provider: 'provider',
  family: 'family',
  model: 'servedModel',
  tier: 'tier',
};

/**
 * Distinct dimension sets rolled up per statement at most. A statement's work grows with the rollup
 * rows it adds to (each set at three spans, every row 170 columns wide): 100 events over 84 sets
 * took 6 ms in one statement, and a local commit gives the event loop a turn only between
 * statements. The sums are additive, so rolling a batch up in parts in one transaction is the same.
 */
const DIMENSION_SETS_PER_STATEMENT = 16;

function byDimensionSets(events: readonly LedgerEvent[]): LedgerEvent[][] {
  const sets = new Map<string, LedgerEvent[]>();
  for (const event of events) {
    const set = JSON.stringify(DIMENSION_COLUMNS.map((column) => event[EVENT_DIMENSIONS[column]]));
    const members = sets.get(set);
    if (members) members.push(event);
    else sets.set(set, [event]);
  }
  return chunks([...sets.values()], DIMENSION_SETS_PER_STATEMENT).map((part) => part.flat());
}

/** Recomputes a month's rows of both rollup tables from their day rows. */
function recomputeMonth(month: number): SQL[] {
  const end = nextMonthStart(month);
  const days = sql`span = ${DAY_SPAN.id} AND "start" >= ${month} AND "start" < ${end}`;
  return [
    sql`DELETE FROM report_rollups WHERE span = ${MONTH_SPAN.id} AND "start" = ${month}`,
    sql`INSERT INTO report_rollups (span, "start", dim_id, ${sql.raw(ROLLUP_COLUMN_LIST)}) SELECT ${MONTH_SPAN.id}, ${month}, dim_id, ${sql.raw(sumColumns(false))} FROM report_rollups WHERE ${days} GROUP BY dim_id`,
    sql`DELETE FROM report_tag_rollups WHERE span = ${MONTH_SPAN.id} AND "start" = ${month}`,
    sql`INSERT INTO report_tag_rollups (span, "start", dim_id, tag_name, tag_value, ${sql.raw(PLAIN_COLUMN_LIST)}) SELECT ${MONTH_SPAN.id}, ${month}, dim_id, tag_name, tag_value, ${sql.raw(sumColumns(false, '', PLAIN_COLUMNS))} FROM report_tag_rollups WHERE ${days} GROUP BY dim_id, tag_name, tag_value`,
  ];
}

/**
 * Statements that recompute one UTC day's rollups from the ledger, and its month's from the days
 * (run them as one batch). `trustFrom` lowers the start of trusted rollups to the day's start.
 */
function rebuildDayStatements(db: Db, dayStart: number, trustFrom = true): BatchItem<'sqlite'>[] {
  const dayEnd = dayStart + DAY_MS;
  const statements = [
    sql`DELETE FROM report_rollups WHERE span IN (${HOUR_SPAN.id}, ${DAY_SPAN.id}) AND "start" >= ${dayStart} AND "start" < ${dayEnd}`,
    sql`DELETE FROM report_tag_rollups WHERE span = ${DAY_SPAN.id} AND "start" >= ${dayStart} AND "start" < ${dayEnd}`,
    ...rollUp(sql`time >= ${dayStart} AND time < ${dayEnd}`, [HOUR_SPAN, DAY_SPAN], [DAY_SPAN]),
    ...recomputeMonth(monthStart(dayStart)),
  ];
  // The rebuilt day is complete, so it may extend the trusted range back to its start.
  if (trustFrom) statements.push(sql`UPDATE report_rollup_state SET valid_from = ${dayStart} WHERE id = ${STATE_ID} AND valid_from > ${dayStart}`);
  return statements.map((statement) => db.run(statement));
}

async function rebuildDay(db: Db, dayStart: number, trustFrom: boolean): Promise<void> {
  const [first, ...rest] = rebuildDayStatements(db, floorTo(dayStart, DAY_MS), trustFrom);
  await db.batch([first!, ...rest]);
}

/**
 * Records from when rollups can be trusted, once per database: from the beginning when the ledger
 * is empty, otherwise from the next whole hour (earlier events are read raw until backfilled).
 */
export async function ensureRollupState(db: Db, nowMs: number): Promise<void> {
  const nextHour = ceilTo(nowMs + 1, HOUR_MS);
  await db.run(
    sql`INSERT INTO report_rollup_state (id, valid_from, updated_at) SELECT ${STATE_ID}, CASE WHEN EXISTS (SELECT 1 FROM usage_events) THEN ${nextHour} ELSE 0 END, ${nowMs} ON CONFLICT (id) DO NOTHING`,
  );
}

/** From when rollups are complete (epoch ms); Infinity when the state was never recorded. */
export async function rollupsValidFrom(db: Db): Promise<number> {
  const rows = await db.all<{ valid_from: number }>(sql`SELECT valid_from FROM report_rollup_state WHERE id = ${STATE_ID}`);
  return rows[0]?.valid_from ?? Number.POSITIVE_INFINITY;
}

/**
 * Backfills rollups for events older than the trusted range, newest day first, at most `maxDays`
 * days per call (each day is one transaction, so the job can stop anywhere). Returns the days rebuilt.
 */
export async function backfillRollups(db: Db, nowMs: number, maxDays: number): Promise<number> {
  await ensureRollupState(db, nowMs);
  let rebuilt = 0;
  while (rebuilt < maxDays) {
    const validFrom = await rollupsValidFrom(db);
    if (validFrom <= 0) break;
    const rows = await db.all<{ latest: number | null }>(sql`SELECT max(time) AS latest FROM usage_events WHERE time < ${validFrom}`);
    const latest = rows[0]?.latest ?? null;
    if (latest === null) {
      await db.run(sql`UPDATE report_rollup_state SET valid_from = 0, updated_at = ${nowMs} WHERE id = ${STATE_ID}`);
      break;
    }
    // Days between `latest` and validFrom hold no events, so rebuilding latest's day covers them.
    await rebuildDay(db, latest, true);
    rebuilt++;
  }
  return rebuilt;
}

/**
 * Compares the rollups of the last `days` UTC days (up to now) with the ledger, hour by hour and
 * day by day (requests and cost), and rebuilds any day that disagrees, e.g. because an instance
 * running an older version wrote events without rolling them up. Returns the days rebuilt.
 */
export async function reconcileRollups(db: Db, nowMs: number, days: number): Promise<number> {
  const validFrom = await rollupsValidFrom(db);
  const from = Math.max(floorTo(nowMs, DAY_MS) - (days - 1) * DAY_MS, ceilTo(validFrom, DAY_MS));
  const to = floorTo(nowMs, DAY_MS) + DAY_MS;
  if (!(from < to)) return 0;
  const raw = (span: Span) =>
    sql`SELECT ${sql.raw(span.bucketSql('time'))} AS bucket, count(*) AS requests, CAST(sum(cost_nusd) AS TEXT) AS cost FROM usage_events WHERE time >= ${from} AND time < ${to} GROUP BY 1`;
  const rolled = (span: Span) =>
    sql`SELECT "start" AS bucket, sum(requests) AS requests, CAST(sum(cost_nusd) AS TEXT) AS cost FROM report_rollups WHERE span = ${span.id} AND "start" >= ${from} AND "start" < ${to} GROUP BY 1`;
  type Sum = { bucket: number; requests: number; cost: string };
  // One batch: one consistent snapshot of the ledger and the rollups.
  const results = (await db.batch([db.all<Sum>(raw(HOUR_SPAN)), db.all<Sum>(rolled(HOUR_SPAN)), db.all<Sum>(raw(DAY_SPAN)), db.all<Sum>(rolled(DAY_SPAN))])) as Sum[][];
  const stale = new Set<number>();
  for (let i = 0; i < results.length; i += 2) {
    const sums = (rows: Sum[]) => new Map(rows.map((r) => [r.bucket, `${r.requests}:${r.cost}`]));
    const ledger = sums(results[i]!);
    const rollup = sums(results[i + 1]!);
    for (const bucket of new Set([...ledger.keys(), ...rollup.keys()])) {
      if (ledger.get(bucket) !== rollup.get(bucket)) stale.add(floorTo(bucket, DAY_MS));
    }
  }
  for (const day of stale) await rebuildDay(db, day, false);
  return stale.size;
}
