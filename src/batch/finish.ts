import { and, asc, eq, inArray, isNotNull, isNull, lte, or } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import type { Catalog } from '../catalog/catalog';
import type { ServiceTier } from '../catalog/types';
import type { Services } from '../gateway/services';
import { ZERO_USAGE, type Usage } from '../gateway/usage';
import { attributeCost, usageColumns, type CostAttribution } from '../ledger/attribution';
import type { ChatCompletion } from '../gateway/chat';
import type { LedgerEvent } from '../ledger/writer';
import type { TierReason } from '../routing/tier';
import { chunks } from '../util/chunks';
import { announceDeferred } from './notify';
import { ID_CHUNK, type DeferredError, type DeferredItem } from './queue';
import { deferredItems } from './schema';

/**
 * Ending deferred items, or sending them round again. The ending itself (guarded by the status
 * and job the item leaves, so only one run can end an item) commits with the state of its job;
 * the item's one ledger row and its webhook event follow, each marked done on the item, and a
 * later run writes whichever an interrupted run did not. A try that failed through no fault of
 * the item's own goes back to the queue until its attempts run out.
 */

export type ItemEnd =
  /** `tierReason` replaces the item's when the tier served is not the one asked for. */
  | { status: 'completed'; completion: ChatCompletion; usage: Usage; tier: ServiceTier; attempts: number; tierReason?: TierReason }
  | { status: 'failed'; error: DeferredError; httpStatus: number; attempts: number }
  | { status: 'expired' | 'cancelled'; error: DeferredError; attempts: number };

const ZERO_COST: CostAttribution = { costNusd: 0, baselineCostNusd: 0, routingSavingsNusd: 0, cachingSavingsNusd: 0, tierSavingsNusd: 0 };

function cost(catalog: Catalog, item: DeferredItem, tier: ServiceTier, usage: Usage): CostAttribution {
  const served = catalog.find(item.model);
  // A model removed from the catalog since the request cannot be priced; the tokens are still kept.
  if (!served) return ZERO_COST;
  return attributeCost(served, catalog.find(item.baselineModel) ?? served, tier, usage);
}

/** The item's one ledger row, from the ended item: attributed as at enqueue, priced at the tier that served it. */
export function itemEvent(catalog: Catalog, item: DeferredItem): LedgerEvent {
  const completed = item.status === 'completed';
  const usage: Usage = completed && item.usage !== null ? (JSON.parse(item.usage) as Usage) : ZERO_USAGE;
  const tier = (item.servedTier ?? 'batch') as ServiceTier;
  const finishedAt = item.finishedAt ?? item.createdAt;
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
    attempts: item.attempts,
    stream: false,
    ...usageColumns(usage),
    ...(completed ? cost(catalog, item, tier, usage) : ZERO_COST),
    cache: 'bypass',
    complexity: item.complexity,
    scorerVersion: item.scorerVersion,
    routeReason: item.routeReason,
    shadowModel: null,
    shadowCostNusd: null,
    latencyMs: Math.max(0, finishedAt - item.createdAt),
    ttftMs: null,
    status: completed ? 'ok' : item.status === 'cancelled' ? 'aborted' : 'error',
    httpStatus: item.httpStatus ?? (completed ? 200 : 500),
    errorType: completed || item.error === null ? null : (JSON.parse(item.error) as DeferredError).code,
    usageEstimated: false,
  };
}

/** HTTP-like statuses recorded for endings that had no upstream answer. */
const END_STATUS = { expired: 408, cancelled: 499 } as const;

function endValues(end: ItemEnd, finishedAt: number): Partial<DeferredItem> {
  const completed = end.status === 'completed';
  return {
    status: end.status,
    result: completed ? JSON.stringify(end.completion) : null,
    error: completed ? null : JSON.stringify(end.error),
    servedTier: completed ? end.tier : 'batch',
    usage: completed ? JSON.stringify(end.usage) : null,
    httpStatus: completed ? 200 : end.status === 'failed' ? end.httpStatus : END_STATUS[end.status],
    attempts: end.attempts,
    ...(completed && end.tierReason ? { tierReason: end.tierReason } : {}),
    leaseUntil: null,
    finishedAt,
    ledgered: false,
    announced: false,
  };
}

/** The ledger rows and webhook events that follow endings (each written once: flags and stable ids). */
async function followUp(services: Services, ended: readonly DeferredItem[]): Promise<void> {
  const { db } = services.deps;
  const unledgered = ended.filter((item) => !item.ledgered);
  if (unledgered.length > 0) {
    const catalog = services.catalog.current;
    await services.ledger.writeWith(
      unledgered.map((item) => itemEvent(catalog, item)),
      chunks(unledgered.map((item) => item.id), ID_CHUNK).map((ids) => db.update(deferredItems).set({ ledgered: true }).where(inArray(deferredItems.id, ids))),
    );
  }
  await announceDeferred(services, ended.filter((item) => !item.announced));
}

/**
 * Ends items (each from the status and job it was read in) with `alongside` in one transaction,
 * then writes their ledger rows and webhook events. An item another run has moved on in the
 * meantime is left alone, so an ending happens once. Returns the items this call ended.
 */
export async function finishItems(
  services: Services,
  ends: ReadonlyArray<{ item: DeferredItem; end: ItemEnd }>,
  finishedAt: number,
  alongside: readonly BatchItem<'sqlite'>[] = [],
): Promise<DeferredItem[]> {
  const { db } = services.deps;
  const updates = ends.map(({ item, end }) =>
    db
      .update(deferredItems)
      .set(endValues(end, finishedAt))
      .where(and(eq(deferredItems.id, item.id), eq(deferredItems.status, item.status), item.jobId === null ? isNull(deferredItems.jobId) : eq(deferredItems.jobId, item.jobId)))
      .returning(),
  );
  const [first, ...rest] = [...updates, ...alongside];
  if (!first) return [];
  const results = (await db.batch([first, ...rest])) as unknown[];
  const ended = results.slice(0, updates.length).flatMap((rows) => rows as DeferredItem[]);
  for (const item of ended) services.metrics.deferred.inc({ provider: item.provider, status: item.status });
  await followUp(services, ended);
  return ended;
}

/** How long an ending's follow-up may be in progress before a later run redoes it. */
const FOLLOW_UP_GRACE_MS = 60_000;

/** Writes the ledger rows and webhook events an interrupted run left unwritten. */
export async function followUpMissing(services: Services, now: number): Promise<number> {
  const pending = await services.deps.db
    .select()
    .from(deferredItems)
    .where(and(isNotNull(deferredItems.finishedAt), lte(deferredItems.finishedAt, now - FOLLOW_UP_GRACE_MS), or(eq(deferredItems.ledgered, false), eq(deferredItems.announced, false))))
    .orderBy(asc(deferredItems.ledgered), asc(deferredItems.finishedAt))
    .limit(1000);
  const due = pending.filter((item) => !item.ledgered || announcementDue(item.finishedAt!, now));
  await followUp(services, due);
  return due.length;
}

/**
 * Whether an announcement that could not be put in the webhook outbox (the database failed) is
 * due again: at 1, 2, 4, 8, ... minutes after the ending (the job runs every minute), an
 * exponential backoff that needs no state beyond the ending time.
 */
export function announcementDue(finishedAt: number, now: number): boolean {
  const minutes = Math.floor((now - finishedAt) / 60_000);
  return minutes >= 1 && (minutes & (minutes - 1)) === 0;
}

/** A failed ending. */
export function itemError(code: string, message: string, httpStatus: number, attempts: number): ItemEnd {
  return { status: 'failed', error: { code, message }, httpStatus, attempts };
}

export interface RetryPlan {
  /** Items out of attempts: they fail. */
  ends: Array<{ item: DeferredItem; end: ItemEnd }>;
  /** Items with attempts left: back to the queue, for a new job or drain call. */
  requeue: BatchItem<'sqlite'>[];
}

/** Items whose try failed through no fault of their own (the job failed as a whole, a 5xx). */
export function planRetry(services: Services, retries: ReadonlyArray<{ item: DeferredItem; code: string; message: string }>): RetryPlan {
  const { db } = services.deps;
  const maxAttempts = services.deps.config.batch.maxAttempts;
  const plan: RetryPlan = { ends: [], requeue: [] };
  for (const { item, code, message } of retries) {
    const attempts = item.attempts + 1;
    if (attempts >= maxAttempts) {
      plan.ends.push({ item, end: itemError(code, `${message} (gave up after ${attempts} attempts)`, 502, attempts) });
      continue;
    }
    plan.requeue.push(
      db
        .update(deferredItems)
        .set({ status: 'queued', jobId: null, submittedAt: null, leaseUntil: null, attempts })
        .where(and(eq(deferredItems.id, item.id), eq(deferredItems.status, item.status))),
    );
  }
  return plan;
}
