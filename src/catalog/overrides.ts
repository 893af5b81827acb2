import { eq } from 'drizzle-orm';
import type { Db } from '../db/client';
import { SluiceError } from '../errors';
import { catalogOverrides } from './schema';
import type { CatalogStore } from './store';
import type { Catalog } from './catalog';

/**
 * Stores one catalog override and swaps in the rebuilt catalog. The row is written only after a
 * catalog built with it validates, and the in-memory catalog changes only after the write, so a
 * bad override is refused with nothing half-applied.
 */
export async function putOverride(db: Db, store: CatalogStore, id: `model:${string}` | `family:${string}`, body: unknown, nowMs: number): Promise<Catalog> {
  const previous = await db.select().from(catalogOverrides).where(eq(catalogOverrides.id, id)).limit(1);
  await db
    .insert(catalogOverrides)
    .values({ id, body: JSON.stringify(body), updatedAt: nowMs })
    .onConflictDoUpdate({ target: catalogOverrides.id, set: { body: JSON.stringify(body), updatedAt: nowMs } });
  try {
    return await store.reload(db);
  } catch (error) {
    const before = previous[0];
    if (before) await db.update(catalogOverrides).set(before).where(eq(catalogOverrides.id, id));
    else await db.delete(catalogOverrides).where(eq(catalogOverrides.id, id));
    throw new SluiceError('invalid_request', `The catalog change was refused: ${(error as Error).message}`);
  }
}

/** Removes an override, restoring the shipped (or config-file) entry. */
export async function deleteOverride(db: Db, store: CatalogStore, id: `model:${string}` | `family:${string}`): Promise<Catalog> {
  const deleted = await db.delete(catalogOverrides).where(eq(catalogOverrides.id, id)).returning({ id: catalogOverrides.id });
  if (deleted.length === 0) throw new SluiceError('not_found', `There is no stored override "${id}".`);
  return store.reload(db);
}
