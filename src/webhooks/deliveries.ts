import { and, asc, desc, eq, inArray, lt, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { SluiceError } from '../errors';
import { isoOrNull } from '../budgets/periods';
import { webhookAttempts, webhookDeliveries, webhookEvents } from './schema';

export interface AttemptView {
  attempt: number;
  at: string;
  status: number | null;
  duration_ms: number;
  error: string | null;
  response: string | null;
}

export interface DeliveryView {
  id: string;
  event_id: string;
  event_type: string;
  endpoint_id: string;
  status: string;
  attempts: number;
  max_attempts: number;
  next_attempt_at: string | null;
  last_status: number | null;
  last_error: string | null;
  delivered_at: string | null;
  created_at: string;
  attempt_log: AttemptView[];
}

/** The delivery log of one endpoint, newest first, each delivery with its attempts. */
export async function listDeliveries(
  db: Db,
  endpointId: string,
  options: { limit: number; cursor?: string; status?: string },
): Promise<{ data: DeliveryView[]; next_cursor: string | null }> {
  const d = webhookDeliveries;
  const conditions = [eq(d.endpointId, endpointId)];
  if (options.status) conditions.push(eq(d.status, options.status));
  if (options.cursor) conditions.push(lt(d.id, options.cursor));
  const rows = await db
    .select({ delivery: d, type: webhookEvents.type })
    .from(d)
    .innerJoin(webhookEvents, eq(webhookEvents.id, d.eventId))
    .where(and(...conditions))
    .orderBy(desc(d.id))
    .limit(options.limit + 1);
  const page = rows.slice(0, options.limit);
  const attempts = page.length
    ? await db
        .select()
        .from(webhookAttempts)
        .where(inArray(webhookAttempts.deliveryId, page.map((r) => r.delivery.id)))
        .orderBy(asc(webhookAttempts.attempt))
    : [];
  const data = page.map(({ delivery, type }) => ({
    id: delivery.id,
    event_id: delivery.eventId,
    event_type: type,
    endpoint_id: delivery.endpointId,
    status: delivery.status,
    attempts: delivery.attempts,
    max_attempts: delivery.maxAttempts,
    next_attempt_at: delivery.status === 'pending' ? isoOrNull(delivery.nextAttemptAt) : null,
    last_status: delivery.lastStatus,
    last_error: delivery.lastError,
    delivered_at: isoOrNull(delivery.deliveredAt),
    created_at: new Date(delivery.createdAt).toISOString(),
    attempt_log: attempts
      .filter((a) => a.deliveryId === delivery.id)
      .map((a) => ({ attempt: a.attempt, at: new Date(a.at).toISOString(), status: a.status, duration_ms: a.durationMs, error: a.error, response: a.responseSnippet })),
  }));
  return { data, next_cursor: rows.length > options.limit ? (page[page.length - 1]?.delivery.id ?? null) : null };
}

/** Puts a failed or cancelled delivery back in the queue for one more round of attempts (a manual replay). */
export async function redeliver(db: Db, endpointId: string, deliveryId: string, nowMs: number): Promise<void> {
  const d = webhookDeliveries;
  const rows = await db
    .update(d)
    // One more attempt than already made.
    .set({ status: 'pending', nextAttemptAt: nowMs, maxAttempts: sql`${d.attempts} + 1`, leaseUntil: null })
    .where(and(eq(d.id, deliveryId), eq(d.endpointId, endpointId), inArray(d.status, ['failed', 'cancelled'])))
    .returning({ id: d.id });
  if (rows.length === 0) {
    throw new SluiceError('conflict', `Delivery "${deliveryId}" of endpoint "${endpointId}" does not exist or is not failed or cancelled; only those can be redelivered.`);
  }
}
