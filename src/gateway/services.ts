import { createCacheServices, type CacheServices } from '../cache/services';
import { CatalogStore } from '../catalog/store';
import type { Deps } from '../deps';
import { KeyAuthenticator } from '../keys/authenticator';
import { LedgerWriter } from '../ledger/writer';
import { Metrics } from '../ops/metrics';
import { ConversationMemory } from '../routing/sticky';

/**
 * The long-lived parts built once per app from its Deps: caches, the ledger buffer, metrics.
 * Routes reach them through `c.var.services`.
 */
export interface Services {
  deps: Deps;
  catalog: CatalogStore;
  keys: KeyAuthenticator;
  ledger: LedgerWriter;
  metrics: Metrics;
  cache: CacheServices;
  /** Which model each live conversation is on (routing stickiness). */
  conversations: ConversationMemory;
  /** SHA-256 (hex) of the admin key. */
  adminKeyHash: string;
}

export async function createServices(deps: Deps, adminKeyHash: string): Promise<Services> {
  const metrics = new Metrics();
  const catalog = new CatalogStore(deps.config.catalog);
  await catalog.reload(deps.db);
  const ledger = new LedgerWriter(deps.db, deps.logger, metrics, {
    flushIntervalMs: deps.config.ledgerFlushIntervalMs,
    maxBatch: deps.config.ledgerFlushMaxEvents,
    defer: deps.defer,
  });
  metrics.gauge('sluice_ledger_buffer_depth', 'Ledger events waiting to be written.', () => ledger.depth);
  const cache = createCacheServices(deps, ledger, metrics);
  return { deps, catalog, keys: new KeyAuthenticator(deps.db, deps.clock), ledger, metrics, cache, conversations: new ConversationMemory(), adminKeyHash };
}
