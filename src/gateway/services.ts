import { BudgetEnforcer } from '../budgets/enforcer';
import { evaluateBudget, raiseBlockedAlert } from '../budgets/evaluate';
import { createCacheServices, type CacheServices } from '../cache/services';
import { CatalogStore } from '../catalog/store';
import type { Deps } from '../deps';
import { KeyAuthenticator } from '../keys/authenticator';
import { LedgerWriter } from '../ledger/writer';
import { Metrics } from '../ops/metrics';
import { ensureRollupState, rollupFlushHook } from '../reports/rollups';
import { ConversationMemory } from '../routing/sticky';
import { WebhookDispatcher } from '../webhooks/dispatcher';
import { syncConfiguredEndpoints } from '../webhooks/endpoints';

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
  /** Budget counters and request-path enforcement (src/budgets). */
  budgets: BudgetEnforcer;
  /** Webhook delivery (src/webhooks); events enter through `enqueueEvent`. */
  webhooks: WebhookDispatcher;
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
    ...(deps.ledgerCommit ? { commit: deps.ledgerCommit } : {}),
  });
  metrics.gauge('sluice_ledger_buffer_depth', 'Ledger events waiting to be written.', () => ledger.depth);
  const cache = createCacheServices(deps, ledger, metrics);
  const webhooks = new WebhookDispatcher(deps, metrics, {
    timeoutMs: deps.config.webhookTimeoutMs,
    random: deps.random ?? Math.random,
    urlPolicy: { allowPrivate: deps.config.webhookAllowPrivate, resolveHost: deps.resolveHost },
  });
  await syncConfiguredEndpoints(deps.db, webhooks.options.urlPolicy, deps.config.webhookEndpoints, deps.clock.now());
  const budgets = new BudgetEnforcer(
    deps,
    catalog,
    {
      evaluate: async (rule, anchor) => (await evaluateBudget(services, rule, anchor)).keys,
      blocked: (rule, anchor) => raiseBlockedAlert(services, rule, anchor),
      flush: () => ledger.flush(),
      betweenCommits: (read) => ledger.betweenCommits(read),
    },
    metrics,
  );
  // Rollups are written in the ledger's own transactions (src/reports/rollups.ts).
  ledger.addFlushHook(rollupFlushHook(deps.db));
  await ensureRollupState(deps.db, deps.clock.now());
  const services: Services = {
    deps,
    catalog,
    keys: new KeyAuthenticator(deps.db, deps.clock),
    ledger,
    metrics,
    cache,
    conversations: new ConversationMemory(),
    budgets,
    webhooks,
    adminKeyHash,
  };
  ledger.onCommit((events) => budgets.onCommit(events));
  await budgets.start();
  return services;
}
