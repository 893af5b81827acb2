import { and, count, desc, eq } from 'drizzle-orm';
import type { Db } from '../db/client';
import { SluiceError } from '../errors';
import type { Services } from '../gateway/services';
import { finishItems } from './finish';
import { deferredView, listItems, type DeferredError, type DeferredItem, type DeferredView } from './queue';
import { batchClientFor, type BatchJob } from './runner';
import { batchJobs, deferredItems } from './schema';

/**
 * Managing the queue: cancelling deferred requests (their owner, or the operator) and provider
 * batch jobs (the operator), and the operator's views (`sluice batch`).
 */

const CANCELLED = { code: 'cancelled', message: 'The request was cancelled before it was sent upstream.' };

/** Cancels one item that is still waiting; an item already sent upstream runs to its end. */
export async function cancelItem(services: Services, item: DeferredItem, now: number): Promise<DeferredView> {
  if (item.status !== 'queued') {
    const where = item.jobId ? ` in batch job ${item.jobId}` : '';
    throw new SluiceError('conflict', `Deferred request ${item.id} is ${item.status}${where} and can no longer be cancelled on its own.`);
  }
  if (item.jobId !== null) {
    throw new SluiceError('conflict', `Deferred request ${item.id} is being submitted in batch job ${item.jobId} right now; the operator can cancel that job ("sluice batch cancel ${item.jobId}").`);
  }
  const [cancelled] = await finishItems(services, [{ item, end: { status: 'cancelled', error: CANCELLED, attempts: item.attempts } }], now);
  if (!cancelled) {
    throw new SluiceError('conflict', `Deferred request ${item.id} was picked up for submission while being cancelled; it will run.`);
  }
  return deferredView(cancelled);
}

/** A batch job as the operator sees it. */
export interface JobView {
  id: string;
  provider: string;
  model: string;
  status: string;
  upstream_id: string | null;
  upstream_status: string | null;
  item_count: number;
  bytes: number;
  created_at: string;
  submitted_at: string | null;
  ended_at: string | null;
  error: DeferredError | null;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function jobView(job: BatchJob): JobView {
  return {
    id: job.id,
    provider: job.provider,
    model: job.model,
    status: job.status,
    upstream_id: job.upstreamId,
    upstream_status: job.upstreamStatus,
    item_count: job.itemCount,
    bytes: job.bytes,
    created_at: new Date(job.createdAt).toISOString(),
    submitted_at: iso(job.submittedAt),
    ended_at: iso(job.endedAt),
    error: job.error === null ? null : (JSON.parse(job.error) as DeferredError),
  };
}

/** Batch jobs, newest first. */
export async function listJobs(db: Db, query: { status?: string; limit: number }): Promise<BatchJob[]> {
  return db
    .select()
    .from(batchJobs)
    .where(query.status === undefined ? undefined : eq(batchJobs.status, query.status))
    .orderBy(desc(batchJobs.id))
    .limit(query.limit);
}

export async function findJob(db: Db, id: string): Promise<BatchJob> {
  const rows = await db.select().from(batchJobs).where(eq(batchJobs.id, id)).limit(1);
  const job = rows[0];
  if (!job) throw new SluiceError('not_found', `No batch job "${id}". "sluice batch list" shows the jobs.`);
  return job;
}

/**
 * Cancels a provider batch job. One still being prepared is taken off the queue with its items;
 * one already submitted is cancelled at the provider, and its items end (done, or cancelled) when
 * the provider has finished cancelling, on a later poll.
 */
export async function cancelJob(services: Services, id: string, now: number): Promise<BatchJob> {
  const { db } = services.deps;
  const job = await findJob(db, id);
  if (job.status === 'preparing') {
    if (job.leaseUntil !== null && job.leaseUntil > now) {
      throw new SluiceError('conflict', `Batch job ${id} is being submitted right now; try again in a minute.`);
    }
    const items = (await listItems(db, { jobId: id, status: 'queued', limit: 100_000 })).data;
    const ends = items.map((item) => ({ item, end: { status: 'cancelled' as const, error: CANCELLED, attempts: item.attempts } }));
    await finishItems(services, ends, now, [
      db.update(batchJobs).set({ status: 'failed', error: JSON.stringify(CANCELLED), endedAt: now, leaseUntil: null }).where(eq(batchJobs.id, id)),
    ]);
    return findJob(db, id);
  }
  if (job.status !== 'submitted') throw new SluiceError('conflict', `Batch job ${id} is ${job.status}; only preparing or submitted jobs can be cancelled.`);
  const client = batchClientFor(job.provider);
  if (!client || job.upstreamId === null) throw new SluiceError('internal', `Batch job ${id} has no provider batch to cancel.`);
  await client.cancel(services.deps, job.upstreamId);
  // Polling goes on: the provider reports the cancelled batch's partial results when it ends.
  await db.update(batchJobs).set({ status: 'cancelling' }).where(and(eq(batchJobs.id, id), eq(batchJobs.status, 'submitted')));
  return findJob(db, id);
}

/** Counts of deferred items by status (for `sluice batch list`). */
export async function queueCounts(db: Db): Promise<Record<string, number>> {
  const rows = await db.select({ status: deferredItems.status, count: count() }).from(deferredItems).groupBy(deferredItems.status);
  return Object.fromEntries(rows.map((row) => [row.status, row.count]));
}
