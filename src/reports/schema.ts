import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { ROLLUP_COLUMNS, PLAIN_COLUMNS } from './measures';

/**
 * The attribution of a group of ledger events, interned once: a rollup row points at one of
 * these. `fingerprint` is json_array(key_id, user, team, project, provider, family, model, tier)
 * as SQLite writes it, so the flush hook and a rebuild find the same row. Tags are not part of it:
 * request tags (e.g. `end_user`) can be as many as the requests, so they get their own rollup.
 */
export const reportDims = sqliteTable(
  'report_dims',
  {
    id: integer('id').primaryKey(),
    fingerprint: text('fingerprint').notNull().unique(),
    keyId: text('key_id').notNull(),
    user: text('user'),
    team: text('team'),
    project: text('project'),
    provider: text('provider'),
    family: text('family'),
    model: text('model'),
    tier: text('tier').notNull(),
  },
  (t) => [index('report_dims_key_idx').on(t.keyId)],
);

const summed = (names: readonly string[]) => Object.fromEntries(names.map((name) => [name, integer(name).notNull()]));

/**
 * Sums of ledger events per (span, start, dims): `span` says the period (3600000 an hour,
 * 86400000 a UTC day, 2592000000 a UTC calendar month: an id, months vary) and `start` is the
 * epoch ms it begins. Maintained in the same transaction as the events (src/reports/rollups.ts);
 * money columns are integer nano-USD like the ledger's.
 */
export const reportRollups = sqliteTable(
  'report_rollups',
  {
    span: integer('span').notNull(),
    start: integer('start').notNull(),
    dimId: integer('dim_id').notNull(),
    ...summed(ROLLUP_COLUMNS),
  },
  (t) => [primaryKey({ columns: [t.span, t.start, t.dimId] })],
);

/**
 * The same sums per tag: one row per (span, start, dims, tag name, tag value) for every tag an
 * event carries. Days and months only, and no latency histogram (it would triple the cost of
 * rolling up: events carry several tags). A report grouped by one tag reads these, and derives
 * the events without that tag as the dimension's total minus its tagged rows.
 */
export const reportTagRollups = sqliteTable(
  'report_tag_rollups',
  {
    span: integer('span').notNull(),
    start: integer('start').notNull(),
    dimId: integer('dim_id').notNull(),
    tagName: text('tag_name').notNull(),
    tagValue: text('tag_value').notNull(),
    ...summed(PLAIN_COLUMNS),
  },
  (t) => [
    primaryKey({ columns: [t.span, t.tagName, t.start, t.dimId, t.tagValue] }),
    // For rebuilding a day (all tags at once); reports read by tag name through the key.
    index('report_tag_rollups_start_idx').on(t.span, t.start),
  ],
);

/**
 * From which instant the rollups are complete (`valid_from`, epoch ms, hour-aligned). Earlier
 * events are read raw until the `rollup` job has backfilled them. No row: nothing is trusted.
 */
export const reportRollupState = sqliteTable('report_rollup_state', {
  id: text('id').primaryKey(),
  validFrom: integer('valid_from').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

/** One row per exported month: the scheduled export runs until it is `ready`, at most once per month. */
export const reportExports = sqliteTable('report_exports', {
  /** `YYYY-MM` */
  period: text('period').primaryKey(),
  periodStart: integer('period_start').notNull(),
  periodEnd: integer('period_end').notNull(),
  /** pending | ready */
  status: text('status').notNull(),
  /** JSON: [{format, name, location}] */
  files: text('files').notNull(),
  /** JSON: the period's totals, as in the report.ready event. */
  totals: text('totals'),
  createdAt: integer('created_at').notNull(),
  readyAt: integer('ready_at'),
});
