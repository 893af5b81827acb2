import { and, asc, eq, isNull, lte, or } from 'drizzle-orm';
import { SluiceError } from '../errors';
import { errorForFailure } from '../gateway/handle-chat';
import type { Services } from '../gateway/services';
import { adapterFor } from '../providers';
import { TransportError } from '../providers/transport';
import type { ChatResult } from '../providers/types';
import type { ProviderId } from '../catalog/types';
import { isFlexCapacityFailure, sendAtTier, type TierProgress } from '../routing/flex';
import { forEachConcurrently } from '../util/concurrency';
import { finishItems, itemError, planRetry, type ItemEnd } from './finish';
import { itemTarget, type DeferredItem } from './queue';
import { deferredItems } from './schema';

/**
 * Draining: deferred requests for models without a batch API (no provider client, or no batch
 * tier in the catalog) are called like synchronous requests, at flex where the model is sold at
 * flex, else standard, a bounded number at a time. Each call holds its item by a lease; an item
 * whose run died is taken again once the lease lapses.
 */

/** Items a run drains at most; the rest wait for the next run. */
const DRAIN_PER_RUN = 200;

/** Takes a queued (or abandoned) drain item for this run; false when another run has it. */
async function leaseItem(services: Services, item: DeferredItem, now: number, leaseMs: number): Promise<boolean> {
  const rows = await services.deps.db
    .update(deferredItems)
    .set({ status: 'submitted', submittedAt: now, leaseUntil: now + leaseMs })
    .where(and(eq(deferredItems.id, item.id), eq(deferredItems.status, item.status), item.leaseUntil === null ? isNull(deferredItems.leaseUntil) : eq(deferredItems.leaseUntil, item.leaseUntil)))
    .returning({ id: deferredItems.id });
  return rows.length === 1;
}

/** One drained item: called like a synchronous request at flex (where sold) or standard. */
async function drainItem(services: Services, item: DeferredItem, now: number): Promise<void> {
  const { deps } = services;
  const adapter = adapterFor(item.provider as ProviderId);
  const model = services.catalog.current.find(item.model);
  const leased: DeferredItem = { ...item, status: 'submitted' };
  if (!adapter || !model) {
    await finishItems(services, [{ item: leased, end: itemError('model_not_found', `Sluice can no longer call "${item.model}".`, 404, item.attempts) }], now);
    return;
  }
  const tier = model.tiers.includes('flex') ? 'flex' : 'standard';
  const target = itemTarget(item, model, tier, tier === 'flex' ? deps.config.tiers.flexTimeoutMs : deps.config.upstreamTimeoutMs, now);
  // A deferred request has hours to spare: flex capacity is waited for, not bought at standard.
  const progress: TierProgress = { target, attempts: 0, tierReason: 'default' };
  const retryLater = async (code: string, message: string, counts: boolean): Promise<void> => {
    if (!counts) {
      await deps.db.update(deferredItems).set({ status: 'queued', leaseUntil: null, submittedAt: null }).where(and(eq(deferredItems.id, item.id), eq(deferredItems.status, 'submitted')));
      return;
    }
    const plan = planRetry(services, [{ item: leased, code, message }]);
    await finishItems(services, plan.ends, now, plan.requeue);
  };
  let body: string;
  try {
    const response = await sendAtTier(deps, adapter, { flexFallback: false }, await adapter.buildChatRequest(target, deps.config), progress);
    body = await response.text();
    if (response.status < 200 || response.status >= 300) {
      const failure = adapter.parseError(response.status, body, response.headers);
      if (isFlexCapacityFailure(adapter.id, failure)) return retryLater('flex_capacity', failure.message, false);
      const error = errorForFailure(adapter.id, failure);
      if (error.status >= 500 || error.status === 429) return retryLater(error.code, error.message, true);
      await finishItems(services, [{ item: leased, end: itemError(failure.type, failure.message, error.status, item.attempts + 1) }], now);
      return;
    }
  } catch (error) {
    if (error instanceof TransportError || error instanceof SluiceError) return retryLater('upstream_error', error.message, true);
    throw error;
  }
  let result: ChatResult;
  try {
    result = adapter.parseChatResponse(body, progress.target, deps.clock.now());
  } catch (error) {
    await finishItems(services, [{ item: leased, end: itemError('upstream_error', (error as Error).message, 502, item.attempts + 1) }], now);
    return;
  }
  // No batch API for this model: served at flex or standard, which the ledger says, and why.
  const end: ItemEnd = { status: 'completed', completion: result.completion, usage: result.usage, tier: result.servedTier, attempts: item.attempts + progress.attempts, tierReason: 'unsupported' };
  await finishItems(services, [{ item: leased, end }], now);
}

/** Drains the queued items of these models, counting calls and errors into `summary`. */
export async function drainQueued(services: Services, drainModels: ReadonlyArray<{ provider: string; model: string }>, now: number, summary: { drained: number; errors: string[] }): Promise<void> {
  if (drainModels.length === 0) return;
  const { db, config } = services.deps;
  const leaseMs = config.tiers.flexTimeoutMs * (config.tiers.flexRetries + 1) + config.upstreamTimeoutMs;
  const byModel = drainModels.map(({ provider, model }) => and(eq(deferredItems.provider, provider), eq(deferredItems.model, model)));
  const due = await db
    .select()
    .from(deferredItems)
    .where(
      and(
        isNull(deferredItems.jobId),
        or(...byModel),
        or(eq(deferredItems.status, 'queued'), and(eq(deferredItems.status, 'submitted'), lte(deferredItems.leaseUntil, now))),
      ),
    )
    .orderBy(asc(deferredItems.id))
    .limit(DRAIN_PER_RUN);
  await forEachConcurrently(due, config.batch.drainConcurrency, async (item) => {
    if (!(await leaseItem(services, item, now, leaseMs))) return;
    try {
      await drainItem(services, item, now);
      summary.drained++;
    } catch (error) {
      summary.errors.push(`drain ${item.id}: ${(error as Error).message}`);
    }
  });
}
