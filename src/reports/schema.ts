import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { ROLLUP_COLUMNS } from './measures';

/**
 * The attribution of a group of ledger events, interned once: a rollup row points at one of
 * these. `fingerprint` is json_array(key_id, user, team, project, provider, family, model, tier,
 * tags) as SQLite writes it, so the flush hook and a rebuild find the same row.
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
    tags: text('tags').notNull(),
  },
  (t) => [index('report_dims_key_idx').on(t.keyId)],
);

const summedColumns = Object.fromEntries(ROLLUP_COLUMNS.map((name) => [name, integer(name).notNull()]));

/**
 * Sums of ledger events per (span, start, dims): `span` is 3600000 (an hour) or 86400000 (a UTC
 * day) and `start` the epoch ms it begins. Maintained in the same transaction as the events
 * (src/reports/rollups.ts); money columns are integer nano-USD like the ledger's.
 */
export const reportRollups = sqliteTable(
  'report_rollups',
  {
    span: integer('span').notNull(),
    start: integer('start').notNull(),
    dimId: integer('dim_id').notNull(),
    ...summedColumns,
  },
  (t) => [primaryKey({ columns: [t.span, t.start, t.dimId] })],
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
