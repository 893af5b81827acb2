import { and, eq, inArray } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import type { Catalog } from '../catalog/catalog';
import type { ServiceTier } from '../catalog/types';
import type { Services } from '../gateway/services';
import { ZERO_USAGE, type Usage } from '../gateway/usage';
import { attributeCost, usageColumns, type CostAttribution } from '../ledger/attribution';
import type { LedgerEvent } from '../ledger/writer';
import type { ChatCompletion } from '../gateway/chat';
import { notifyDeferred } from './notify';
import type { DeferredError, DeferredItem, DeferredStatus } from './queue';
import { deferredItems } from './schema';

/**
 * Ending deferred items: the status change, the item's one ledger row and the state of its job
 * commit in one transaction (guarded by the status the item leaves, so a repeat changes nothing),
 * and the key's webhook hears of it after.
 */

export type ItemEnd =
  | { status: 'completed'; completion: ChatCompletion; usage: Usage; tier: ServiceTier; attempts: number }
  | { status: 'failed'; error: DeferredError; httpStatus: number; attempts: number }
  | { status: 'expired' | 'cancelled'; error: DeferredError; attempts: number };

const ZERO_COST: CostAttribution = { costNusd: 0, baselineCostNusd: 0, routingSavingsNusd: 0, cachingSavingsNusd: 0, tierSavingsNusd: 0 };

function cost(catalog: Catalog, item: DeferredItem, tier: ServiceTier, usage: Usage): CostAttribution {
  const served = catalog.find(item.model);
  // A model removed from the catalog since the request cannot be priced; the tokens are still kept.
  if (!served) return ZERO_COST;
  return attributeCost(served, catalog.find(item.baselineModel) ?? served, tier, usage);
}

/** The item's one ledger row: attributed as at enqueue time, priced at the tier that served it. */
export function itemEvent(catalog: Catalog, item: DeferredItem, end: ItemEnd, finishedAt: number): LedgerEvent {
  const usage = end.status === 'completed' ? end.usage : ZERO_USAGE;
  const tier: ServiceTier = end.status === 'completed' ? end.tier : 'batch';
  return {
    id: `evt_${item.requestId.slice(4)}`,
    time: item.createdAt,
    requestId: item.requestId,
    keyId: item.keyId,
    user: item.user,
    team: item.team,
    project: item.project,
    tags: item.tags,
    surface: item.surface,
    requestedModel: item.requestedModel,
    servedModel: item.model,
    provider: item.provider,
    family: item.family,
    tier,
    tierReason: item.tierReason,
    attempts: end.attempts,
    stream: false,
    ...usageColumns(usage),
    ...(end.status === 'completed' ? cost(catalog, item, tier, usage) : ZERO_COST),
    cache: 'bypass',
    complexity: item.complexity,
    scorerVersion: item.scorerVersion,
    routeReason: item.routeReason,
    latencyMs: Math.max(0, finishedAt - item.createdAt),
    ttftMs: null,
    status: end.status === 'completed' ? 'ok' : end.status === 'cancelled' ? 'aborted' : 'error',
    httpStatus: end.status === 'completed' ? 200 : end.status === 'failed' ? end.httpStatus : end.status === 'expired' ? 408 : 499,
    errorType: end.status === 'completed' ? null : end.error.code,
    usageEstimated: false,
  };
}

function endStatement(services: Services, item: DeferredItem, end: ItemEnd, finishedAt: number): BatchItem<'sqlite'> {
  return services.deps.db
    .update(deferredItems)
    .set({
      status: end.status,
      result: end.status === 'completed' ? JSON.stringify(end.completion) : null,
      error: end.status === 'completed' ? null : JSON.stringify(end.error),
      servedTier: end.status === 'completed' ? end.tier : null,
      attempts: end.attempts,
      leaseUntil: null,
      finishedAt,
    })
    .where(and(eq(deferredItems.id, item.id), eq(deferredItems.status, item.status)));
}

/**
 * Ends items (each from the status it was read in) with `alongside` in the same transaction.
 * Items another run has already moved on are skipped, so nothing is recorded twice.
 */
export async function finishItems(
  services: Services,
  ends: ReadonlyArray<{ item: DeferredItem; end: ItemEnd }>,
  finishedAt: number,
  alongside: readonly BatchItem<'sqlite'>[] = [],
): Promise<void> {
  const { db } = services.deps;
  const ids = ends.map(({ item }) => item.id);
  const current = new Map<string, string>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await db.select({ id: deferredItems.id, status: deferredItems.status }).from(deferredItems).where(inArray(deferredItems.id, ids.slice(i, i + 500)));
    for (const row of rows) current.set(row.id, row.status);
  }
  const live = ends.filter(({ item }) => current.get(item.id) === item.status);
  const catalog = services.catalog.current;
  const events = live.map(({ item, end }) => itemEvent(catalog, item, end, finishedAt));
  await services.ledger.writeWith(events, [...live.map(({ item, end }) => endStatement(services, item, end, finishedAt)), ...alongside]);
  for (const { item, end } of live) services.metrics.deferred.inc({ provider: item.provider, status: end.status });
  await notifyDeferred(services, live.map(({ item, end }) => ({ item, status: end.status as DeferredStatus, finishedAt })));
}
