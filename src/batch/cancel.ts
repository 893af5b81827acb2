import { and, count, eq } from 'drizzle-orm';
import type { Db } from '../db/client';
import { SluiceError } from '../errors';
import type { Services } from '../gateway/services';
import { finishItems } from './finish';
import { deferredView, findItem, listItems, type DeferredItem, type DeferredView } from './queue';
import { batchClientFor, type BatchJob } from './runner';
import { batchJobs, deferredItems } from './schema';

/** Cancelling deferred requests (their owner, or the operator) and provider batch jobs (the operator). */

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
  await finishItems(services, [{ item, end: { status: 'cancelled', error: CANCELLED, attempts: item.attempts } }], now);
  const after = await findItem(services.deps.db, item.id);
  if (after?.status !== 'cancelled') {
    throw new SluiceError('conflict', `Deferred request ${item.id} was picked up for submission while cancelling (now ${after?.status ?? 'gone'}).`);
  }
  return deferredView(after);
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
