import { and, asc, eq, gte, inArray, isNotNull, isNull, lte, or } from 'drizzle-orm';
import type { CatalogModel } from '../catalog/catalog';
import { ProviderId } from '../catalog/types';
import { SluiceError } from '../errors';
import type { Services } from '../gateway/services';
import { adapterFor } from '../providers';
import type { ChatResult, ProviderAdapter } from '../providers/types';
import { chunks } from '../util/chunks';
import { newId } from '../util/ids';
import { utf8Length } from '../util/utf8';
import { anthropicBatchClient } from './clients/anthropic';
import { openaiBatchClient } from './clients/openai';
import { BatchApiError, type BatchClient, type JobRef, type LineOutcome } from './clients/types';
import { drainQueued } from './drain';
import { finishItems, followUpMissing, itemError, planRetry, type ItemEnd } from './finish';
import { ID_CHUNK, itemTarget, type DeferredItem } from './queue';
import { batchJobs, deferredItems } from './schema';

/**
 * The `batch` job: expire what waited too long, reconcile submissions a crash interrupted, pack
 * queued items into provider batch jobs and submit them, poll what is in flight and end its
 * items, and drain models without a batch API through flex or standard. Every step claims its
 * work in the database first (a lease, or a status change guarded by the old status), so runs
 * on several instances, or a run repeated after a crash, never do a step twice.
 */

export type BatchJob = typeof batchJobs.$inferSelect;

const CLIENTS: Partial<Record<ProviderId, BatchClient>> = { openai: openaiBatchClient, anthropic: anthropicBatchClient };

/** How long a run owns a job it is submitting or polling (an upload of 200 MB included). */
export const JOB_LEASE_MS = 30 * 60_000;
/** Provider limits are met with this much room: the packing estimate is checked against the built lines. */
const LIMIT_HEADROOM = 0.98;

export interface BatchRunSummary {
  /** Ended items whose ledger row or webhook event an interrupted run left unwritten. */
  followedUp: number;
  expired: number;
  recovered: number;
  submittedJobs: number;
  submittedItems: number;
  polled: number;
  ended: number;
  drained: number;
  errors: string[];
}

export function batchClientFor(provider: string): BatchClient | undefined {
  const parsed = ProviderId.safeParse(provider);
  return parsed.success ? CLIENTS[parsed.data] : undefined;
}

/** Whether a model's deferred items go through its provider's batch API (else they are drained). */
function usesBatchApi(model: CatalogModel | undefined): boolean {
  return model !== undefined && model.tiers.includes('batch') && CLIENTS[model.provider] !== undefined;
}

function limitsFor(services: Services, client: BatchClient): { maxItems: number; maxBytes: number } {
  const { maxItems, maxBytes } = services.deps.config.batch;
  return {
    maxItems: Math.min(client.limits.maxItems, maxItems ?? Infinity),
    maxBytes: Math.floor(Math.min(client.limits.maxBytes, maxBytes ?? Infinity) * LIMIT_HEADROOM),
  };
}

function jobRef(job: BatchJob, sendingAt: number): JobRef {
  return { id: job.id, sendingAt, itemCount: job.itemCount, inputFileId: job.inputFileId };
}

/** Takes a job for this run unless another run holds it; undefined when it is taken. */
async function leaseJob(services: Services, id: string, now: number): Promise<BatchJob | undefined> {
  const rows = await services.deps.db
    .update(batchJobs)
    .set({ leaseUntil: now + JOB_LEASE_MS })
    .where(and(eq(batchJobs.id, id), or(isNull(batchJobs.leaseUntil), lte(batchJobs.leaseUntil, now))))
    .returning();
  return rows[0];
}

function releaseJob(services: Services, id: string) {
  return services.deps.db.update(batchJobs).set({ leaseUntil: null }).where(eq(batchJobs.id, id));
}

// ---------------------------------------------------------------- expiry

async function expireQueued(services: Services, now: number): Promise<number> {
  const { db } = services.deps;
  const due = await db
    .select()
    .from(deferredItems)
    .where(and(eq(deferredItems.status, 'queued'), isNull(deferredItems.jobId), lte(deferredItems.expiresAt, now)))
    .limit(1000);
  const ends = due.map((item) => ({
    item,
    end: {
      status: 'expired',
      error: { code: 'expired', message: `The request waited in the queue until ${new Date(item.expiresAt).toISOString()} without being processed; send it again.` },
      attempts: item.attempts,
    } satisfies ItemEnd,
  }));
  await finishItems(services, ends, now);
  return ends.length;
}

// ---------------------------------------------------------------- submission

/** Marks a job submitted with the provider's id, and its items with it, in one transaction. */
async function recordSubmitted(services: Services, job: BatchJob, upstreamId: string, now: number): Promise<number> {
  const { db } = services.deps;
  const [, items] = await db.batch([
    db.update(batchJobs).set({ upstreamId, status: 'submitted', submittedAt: now, leaseUntil: null }).where(and(eq(batchJobs.id, job.id), eq(batchJobs.status, 'preparing'))),
    db
      .update(deferredItems)
      .set({ status: 'submitted', submittedAt: now })
      .where(and(eq(deferredItems.jobId, job.id), eq(deferredItems.status, 'queued')))
      .returning({ id: deferredItems.id }),
  ]);
  services.metrics.deferred.inc({ provider: job.provider, status: 'submitted' }, items.length);
  return items.length;
}

/**
 * Builds the job's lines from its claimed items and creates the provider batch. Items that cannot
 * be built fail on their own; items beyond the limits go back to the queue.
 */
async function submitJob(services: Services, job: BatchJob, now: number): Promise<number> {
  const { db, config } = services.deps;
  const client = batchClientFor(job.provider);
  const adapter = adapterFor(job.provider as ProviderId);
  const items = await db.select().from(deferredItems).where(and(eq(deferredItems.jobId, job.id), eq(deferredItems.status, 'queued'))).orderBy(asc(deferredItems.id));
  if (!client || !adapter || items.length === 0) {
    await db.update(batchJobs).set({ status: 'ended', itemCount: 0, endedAt: now, leaseUntil: null }).where(eq(batchJobs.id, job.id));
    return 0;
  }
  const limits = limitsFor(services, client);
  const model = services.catalog.current.find(job.model);
  const lines: string[] = [];
  /** The items of `lines`, in the same order. */
  const sent: DeferredItem[] = [];
  const unbuildable: Array<{ item: DeferredItem; end: ItemEnd }> = [];
  const overflow: string[] = [];
  let bytes = 2;
  for (const item of items) {
    if (!model) {
      unbuildable.push({ item, end: itemError('model_not_found', `The model "${job.model}" is no longer in the catalog.`, 404, item.attempts) });
      continue;
    }
    let line: string;
    try {
      const request = await adapter.buildChatRequest(itemTarget(item, model, 'standard', config.upstreamTimeoutMs, now), config);
      line = client.line(item.id, String(request.body));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      unbuildable.push({ item, end: itemError(error instanceof SluiceError ? error.code : 'invalid_request', message, 400, item.attempts) });
      continue;
    }
    const size = utf8Length(line) + 1;
    if (lines.length >= limits.maxItems || bytes + size > limits.maxBytes) {
      overflow.push(item.id);
      continue;
    }
    lines.push(line);
    sent.push(item);
    bytes += size;
  }
  const release = chunks(overflow, ID_CHUNK).map((ids) => db.update(deferredItems).set({ jobId: null }).where(and(inArray(deferredItems.id, ids), eq(deferredItems.status, 'queued'))));
  await finishItems(services, unbuildable, now, release);
  if (lines.length === 0) {
    await db.update(batchJobs).set({ status: 'ended', itemCount: 0, endedAt: now, leaseUntil: null }).where(eq(batchJobs.id, job.id));
    return 0;
  }

  // From here on the provider may hold something of this job's: recovery looks there first.
  const sendingAt = job.sendingAt ?? now;
  await db.update(batchJobs).set({ itemCount: lines.length, bytes, sendingAt }).where(eq(batchJobs.id, job.id));
  const ref: JobRef = { ...jobRef(job, sendingAt), itemCount: lines.length };
  let upstreamId: string;
  try {
    upstreamId = await client.create(services.deps, ref, lines, async (fileId) => {
      await db.update(batchJobs).set({ inputFileId: fileId }).where(eq(batchJobs.id, job.id));
    });
  } catch (error) {
    if (error instanceof BatchApiError && error.permanent) {
      // The provider refused the batch itself; its items try again in a new job, up to the limit.
      const plan = planRetry(services, sent.map((item) => ({ item, code: 'batch_rejected', message: error.message })));
      await finishItems(services, plan.ends, now, [
        ...plan.requeue,
        db.update(batchJobs).set({ status: 'failed', error: JSON.stringify({ code: 'batch_rejected', message: error.message }), endedAt: now, leaseUntil: null }).where(eq(batchJobs.id, job.id)),
      ]);
      return 0;
    }
    // Unknown outcome (timeout, 5xx): the job stays `preparing`; once its lease lapses, the next
    // run looks for the batch in the provider's list before creating it again.
    throw error;
  }
  return recordSubmitted(services, job, upstreamId, now);
}

/** Packs one (provider, model) queue into jobs within the provider's limits and submits them. */
async function packAndSubmit(services: Services, provider: string, modelId: string, now: number, summary: BatchRunSummary): Promise<void> {
  const { db } = services.deps;
  const client = batchClientFor(provider)!;
  const limits = limitsFor(services, client);
  for (;;) {
    const queued = await db
      .select({ id: deferredItems.id, bytes: deferredItems.bytes })
      .from(deferredItems)
      .where(and(eq(deferredItems.status, 'queued'), isNull(deferredItems.jobId), eq(deferredItems.provider, provider), eq(deferredItems.model, modelId)))
      .orderBy(asc(deferredItems.id))
      .limit(limits.maxItems);
    if (queued.length === 0) return;
    let bytes = 2;
    let last = 0;
    while (last < queued.length && (last === 0 || bytes + queued[last]!.bytes <= limits.maxBytes)) bytes += queued[last++]!.bytes;
    const lastId = queued[last - 1]!.id;

    const job: BatchJob = {
      id: newId('bj', now),
      provider,
      model: modelId,
      status: 'preparing',
      upstreamId: null,
      upstreamStatus: null,
      inputFileId: null,
      sendingAt: null,
      itemCount: last,
      bytes,
      leaseUntil: now + JOB_LEASE_MS,
      error: null,
      createdAt: now,
      submittedAt: null,
      lastPolledAt: null,
      endedAt: null,
    };
    // The job row comes first: a crash after it leaves a `preparing` job that the next run
    // reconciles, never items claimed by nothing.
    await db.insert(batchJobs).values(job);
    await db
      .update(deferredItems)
      .set({ jobId: job.id })
      .where(and(eq(deferredItems.status, 'queued'), isNull(deferredItems.jobId), eq(deferredItems.provider, provider), eq(deferredItems.model, modelId), lte(deferredItems.id, lastId)));
    const submitted = await submitJob(services, job, now);
    // Nothing submitted (a refusal, or nothing left to claim): the rest waits for the next run.
    if (submitted === 0) return;
    summary.submittedJobs++;
    summary.submittedItems += submitted;
    if (queued.length < limits.maxItems && last === queued.length) return;
  }
}

/** Jobs left `preparing` by an interrupted run: adopt the batch the provider has, or submit again. */
async function recoverPreparing(services: Services, now: number, summary: BatchRunSummary): Promise<void> {
  const { db } = services.deps;
  const stale = await db
    .select()
    .from(batchJobs)
    .where(and(eq(batchJobs.status, 'preparing'), or(isNull(batchJobs.leaseUntil), lte(batchJobs.leaseUntil, now))));
  for (const candidate of stale) {
    const job = await leaseJob(services, candidate.id, now);
    const client = job && batchClientFor(job.provider);
    if (!job || !client) continue;
    try {
      const owned = await db
        .select({ upstreamId: batchJobs.upstreamId })
        .from(batchJobs)
        .where(and(eq(batchJobs.provider, job.provider), isNotNull(batchJobs.upstreamId), gte(batchJobs.createdAt, job.createdAt - 24 * 3600_000)));
      const known = new Set(owned.map((row) => row.upstreamId!));
      // A job that never began sending has nothing at the provider: it is simply submitted.
      const found = job.sendingAt === null ? undefined : await client.findCreated(services.deps, jobRef(job, job.sendingAt), known);
      if (found) await recordSubmitted(services, job, found, now);
      else await submitJob(services, job, now);
      summary.recovered++;
    } catch (error) {
      summary.errors.push(`recover ${job.id}: ${(error as Error).message}`);
    }
  }
}

// ---------------------------------------------------------------- polling

function endOfLine(item: DeferredItem, outcome: LineOutcome, adapter: ProviderAdapter, model: CatalogModel | undefined, now: number): ItemEnd | 'retry' {
  const attempts = item.attempts + 1;
  switch (outcome.kind) {
    case 'succeeded': {
      if (!model) return itemError('model_not_found', `The model "${item.model}" is no longer in the catalog.`, 502, attempts);
      let result: ChatResult;
      try {
        result = adapter.parseChatResponse(outcome.body, itemTarget(item, model, 'batch', 0, now), now);
      } catch (error) {
        return itemError('upstream_error', (error as Error).message, 502, attempts);
      }
      // Served through the provider's batch API: priced at batch rates whatever the body says.
      return { status: 'completed', completion: result.completion, usage: result.usage, tier: 'batch', attempts };
    }
    case 'errored':
      // A server-side failure of one request may pass: it goes in a later job, within the attempts.
      if (outcome.status >= 500 || outcome.status === 429) return 'retry';
      return itemError(outcome.code, outcome.message, outcome.status, attempts);
    case 'expired':
      return { status: 'expired', error: { code: 'expired', message: 'The provider batch expired (24 h) before it ran this request; send it again.' }, attempts };
    case 'cancelled':
      return { status: 'cancelled', error: { code: 'cancelled', message: 'The batch was cancelled before this request ran.' }, attempts };
    case 'retry':
      return 'retry';
  }
}

async function pollJob(services: Services, job: BatchJob, now: number, summary: BatchRunSummary): Promise<void> {
  const { db } = services.deps;
  const client = batchClientFor(job.provider)!;
  const adapter = adapterFor(job.provider as ProviderId)!;
  const polled = await client.poll(services.deps, job.upstreamId!);
  summary.polled++;
  if (!polled.ended) {
    await db.update(batchJobs).set({ upstreamStatus: polled.status, lastPolledAt: now, leaseUntil: null }).where(eq(batchJobs.id, job.id));
    return;
  }
  const items = await db.select().from(deferredItems).where(and(eq(deferredItems.jobId, job.id), eq(deferredItems.status, 'submitted'))).orderBy(asc(deferredItems.id));
  const outcomes = await client.results(services.deps, job.upstreamId!, items.map((item) => item.id));
  const model = services.catalog.current.find(job.model);
  const ends: Array<{ item: DeferredItem; end: ItemEnd }> = [];
  const retries: Array<{ item: DeferredItem; code: string; message: string }> = [];
  for (const item of items) {
    const outcome = outcomes.get(item.id)!;
    const end = endOfLine(item, outcome, adapter, model, now);
    if (end !== 'retry') ends.push({ item, end });
    else if (outcome.kind === 'retry' || outcome.kind === 'errored') retries.push({ item, code: outcome.code, message: outcome.message });
  }
  const plan = planRetry(services, retries);
  const endJob = db
    .update(batchJobs)
    .set({ status: 'ended', upstreamStatus: polled.status, lastPolledAt: now, endedAt: now, leaseUntil: null })
    .where(eq(batchJobs.id, job.id));
  // One transaction: a repeat after a crash sees the job's items exactly as the provider had them.
  await finishItems(services, [...ends, ...plan.ends], now, [...plan.requeue, endJob]);
  summary.ended += ends.length + plan.ends.length;
}

async function pollSubmitted(services: Services, now: number, summary: BatchRunSummary): Promise<void> {
  const { db } = services.deps;
  const inFlight = await db
    .select({ id: batchJobs.id })
    .from(batchJobs)
    .where(and(inArray(batchJobs.status, ['submitted', 'cancelling']), or(isNull(batchJobs.leaseUntil), lte(batchJobs.leaseUntil, now))))
    .orderBy(asc(batchJobs.createdAt));
  for (const { id } of inFlight) {
    const job = await leaseJob(services, id, now);
    if (!job) continue;
    try {
      await pollJob(services, job, now, summary);
    } catch (error) {
      summary.errors.push(`poll ${job.id}: ${(error as Error).message}`);
      await releaseJob(services, job.id);
    }
  }
}

// ---------------------------------------------------------------- the job

/** One run of the batch job at `now` (the scheduled time, from the clock). */
export async function runBatch(services: Services, now: number): Promise<BatchRunSummary> {
  const { db } = services.deps;
  const summary: BatchRunSummary = { followedUp: 0, expired: 0, recovered: 0, submittedJobs: 0, submittedItems: 0, polled: 0, ended: 0, drained: 0, errors: [] };
  summary.followedUp = await followUpMissing(services, now);
  summary.expired = await expireQueued(services, now);
  await recoverPreparing(services, now, summary);

  const groups = await db
    .select({ provider: deferredItems.provider, model: deferredItems.model })
    .from(deferredItems)
    .where(and(inArray(deferredItems.status, ['queued', 'submitted']), isNull(deferredItems.jobId)))
    .groupBy(deferredItems.provider, deferredItems.model);
  const drainModels: Array<{ provider: string; model: string }> = [];
  for (const group of groups) {
    if (!usesBatchApi(services.catalog.current.find(group.model))) {
      drainModels.push(group);
      continue;
    }
    try {
      await packAndSubmit(services, group.provider, group.model, now, summary);
    } catch (error) {
      summary.errors.push(`submit ${group.provider}/${group.model}: ${(error as Error).message}`);
    }
  }
  await pollSubmitted(services, now, summary);
  await drainQueued(services, drainModels, now, summary);
  return summary;
}

export function describeRun(summary: BatchRunSummary): string {
  const parts = [
    `${summary.submittedItems} items submitted in ${summary.submittedJobs} jobs`,
    `${summary.polled} jobs polled`,
    `${summary.ended} items ended`,
    `${summary.drained} drain calls`,
    `${summary.expired} expired`,
  ];
  if (summary.recovered) parts.push(`${summary.recovered} interrupted submissions reconciled`);
  if (summary.followedUp) parts.push(`${summary.followedUp} endings followed up`);
  if (summary.errors.length) parts.push(`${summary.errors.length} errors: ${summary.errors.join('; ')}`);
  return parts.join(', ');
}
