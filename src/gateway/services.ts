import { createCacheServices, type CacheServices } from '../cache/services';
import { CatalogStore } from '../catalog/store';
import type { Deps } from '../deps';
import { KeyAuthenticator } from '../keys/authenticator';
import { LedgerWriter } from '../ledger/writer';
import { loggingPublisher, type EventPublisher } from '../events/publisher';
import { Metrics } from '../ops/metrics';
import type { BudgetStatusSource } from '../reports/dashboard-data';
import { ensureRollupState, rollupFlushHook } from '../reports/rollups';

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
  /** SHA-256 (hex) of the admin key. */
  adminKeyHash: string;
  /** Domain events for webhooks (report.ready, ...); the webhooks module replaces the logging default. */
  events: EventPublisher;
  /** Budget status for the dashboard, once the budgets module provides it. */
  budgetStatus: BudgetStatusSource | undefined;
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
  // Rollups are written in the ledger's own transactions (src/reports/rollups.ts).
  ledger.addFlushHook(rollupFlushHook(deps.db));
  await ensureRollupState(deps.db, deps.clock.now());
  return {
    deps,
    catalog,
    keys: new KeyAuthenticator(deps.db, deps.clock),
    ledger,
    metrics,
    cache,
    adminKeyHash,
    events: loggingPublisher(deps.logger),
    budgetStatus: undefined,
  };
}
