import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/** Changes to the shipped catalog made through `/admin/catalog`, one row per model or family. */
export const catalogOverrides = sqliteTable('catalog_overrides', {
  /** `model:<id>` or `family:<name>`. */
  id: text('id').primaryKey(),
  /** JSON ModelOverride or FamilyEntry. */
  body: text('body').notNull(),
  updatedAt: integer('updated_at').notNull(),
});
