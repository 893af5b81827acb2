import { eq } from 'drizzle-orm';
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import type { Db } from './client';

/** Small server-wide values (e.g. the admin key's hash) that must survive restarts. */
export const settings = sqliteTable('settings', {
  name: text('name').primaryKey(),
  value: text('value').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

export async function readSetting(db: Db, name: string): Promise<string | undefined> {
  const rows = await db.select({ value: settings.value }).from(settings).where(eq(settings.name, name)).limit(1);
  return rows[0]?.value;
}

/** Writes a setting only if it is not set yet; returns whether this call set it. */
export async function initSetting(db: Db, name: string, value: string, nowMs: number): Promise<boolean> {
  const inserted = await db
    .insert(settings)
    .values({ name, value, updatedAt: nowMs })
    .onConflictDoNothing()
    .returning({ name: settings.name });
  return inserted.length === 1;
}
