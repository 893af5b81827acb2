import { and, eq, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import type { Services } from '../gateway/services';
import { fromZodError } from '../http/errors';
import { newId, randomSecret, sha256Hex } from '../util/ids';
import { endpointsFor } from './endpoints';
import { EVENT_DATA, type EventType } from './event-types';
import { webhookDeliveries, webhookEvents } from './schema';

/** Ordinary events get about a day of retries; a test event is tried once and reported at once. */
export const MAX_ATTEMPTS = 8;

export interface EnqueueOptions {
  /** Deliver only to these endpoints (still only to those subscribed to the type). Default: every subscribed endpoint. */
  endpointIds?: readonly string[];
  /**
   * Makes the call idempotent: one key is one event, created at most once however often (or on
   * however many instances) the call is repeated. Without it every call is a new event.
   */
  idempotencyKey?: string;
  /** Statements committed in the same transaction as the event, e.g. the row the event announces. */
  alongside?: readonly BatchItem<'sqlite'>[];
  /** Start delivering right away (default). The test-event endpoint delivers itself instead. */
  kick?: boolean;
}

export interface EnqueuedEvent {
  id: string;
  /** False when an event with this idempotency key already existed (nothing was written). */
  created: boolean;
  deliveryIds: string[];
}

/** The event id an idempotency key maps to (so a row written alongside can reference its event). */
export async function eventIdFor(idempotencyKey: string): Promise<string> {
  return `msg_${(await sha256Hex(idempotencyKey)).slice(0, 32)}`;
}

/**
 * The one way events enter the webhook outbox. Validates `data` for the type, then commits the
 * event and one delivery per subscribed, enabled endpoint in a single transaction (with
 * `alongside`), and starts delivery. Delivery is at least once per endpoint with retries;
 * receivers de-duplicate by `webhook-id` (the event id).
 *
 *   await enqueueEvent(services, 'deferred.completed', { id, status: 'completed', poll_url }, { endpointIds: [policy.webhook_id] });
 */
export async function enqueueEvent(
  services: Services,
  type: EventType,
  data: Record<string, unknown>,
  options: EnqueueOptions = {},
): Promise<EnqueuedEvent> {
  const parsed = EVENT_DATA[type].safeParse(data);
  if (!parsed.success) throw fromZodError(parsed.error, `${type} event data`);
  const { db, clock } = services.deps;
  const now = clock.now();
  const id = options.idempotencyKey === undefined ? newId('msg', now) : await eventIdFor(options.idempotencyKey);
  const nonce = randomSecret(12);
  const endpoints = await endpointsFor(db, type, options.endpointIds);
  const maxAttempts = type === 'webhook.test' ? 1 : MAX_ATTEMPTS;
  const payload = JSON.stringify({ type, timestamp: new Date(now).toISOString(), data: parsed.data });

  // Deliveries are inserted only if this very write created the event (its nonce is ours), so a
  // repeated idempotent call adds nothing — not even deliveries to endpoints registered since.
  const createdByUs = sql`exists (select 1 from ${webhookEvents} where ${and(eq(webhookEvents.id, id), eq(webhookEvents.nonce, nonce))})`;
  const deliveryIds = endpoints.map(() => newId('dlv', now));
  const deliveries = endpoints.map((endpoint, i) =>
    db.insert(webhookDeliveries).select(
      db
        .select({
          id: sql`${deliveryIds[i]}`.as('id'),
          eventId: sql`${id}`.as('event_id'),
          endpointId: sql`${endpoint.id}`.as('endpoint_id'),
          status: sql`'pending'`.as('status'),
          attempts: sql`0`.as('attempts'),
          maxAttempts: sql`${maxAttempts}`.as('max_attempts'),
          nextAttemptAt: sql`${now}`.as('next_attempt_at'),
          leaseUntil: sql`null`.as('lease_until'),
          lastAttemptAt: sql`null`.as('last_attempt_at'),
          lastStatus: sql`null`.as('last_status'),
          lastError: sql`null`.as('last_error'),
          deliveredAt: sql`null`.as('delivered_at'),
          createdAt: sql`${now}`.as('created_at'),
        })
        .from(sql`(select 1)`)
        .where(createdByUs),
    ),
  );
  const insertEvent = db.insert(webhookEvents).values({ id, type, payload, nonce, createdAt: now }).onConflictDoNothing();
  const alongside = options.alongside ?? [];
  const results = await db.batch([insertEvent, ...alongside, ...deliveries] as [BatchItem<'sqlite'>, ...BatchItem<'sqlite'>[]]);
  const created = (results[0] as { rowsAffected: number }).rowsAffected === 1;
  if (created && endpoints.length > 0 && options.kick !== false) services.webhooks.kick();
  return { id, created, deliveryIds: created ? deliveryIds : [] };
}
