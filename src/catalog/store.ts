import type { Db } from '../db/client';
import { Catalog, SHIPPED_CATALOG } from './catalog';
import { catalogOverrides } from './schema';
import { FamilyEntry, ModelOverride, type CatalogOverrides } from './types';

/**
 * Holds the catalog in effect: the shipped file, then the config file's overrides, then those
 * stored through `/admin/catalog`. The request path reads `current`; a change swaps in a new
 * immutable Catalog, so no request ever sees half an update.
 */
export class CatalogStore {
  current: Catalog;

  constructor(private readonly configOverrides: CatalogOverrides | undefined) {
    this.current = new Catalog(SHIPPED_CATALOG, configOverrides ? [configOverrides] : []);
  }

  /** Rebuilds from the database's overrides; throws (keeping the old catalog) if they do not fit. */
  async reload(db: Db): Promise<Catalog> {
    const rows = await db.select().from(catalogOverrides);
    const stored: CatalogOverrides = { models: [], families: [] };
    for (const row of rows) {
      const body: unknown = JSON.parse(row.body);
      if (row.id.startsWith('model:')) stored.models?.push(ModelOverride.parse(body));
      else if (row.id.startsWith('family:')) stored.families?.push(FamilyEntry.parse(body));
    }
    const layers = [...(this.configOverrides ? [this.configOverrides] : []), stored];
    this.current = new Catalog(SHIPPED_CATALOG, layers);
    return this.current;
  }
}
