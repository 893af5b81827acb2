import { eq, inArray } from 'drizzle-orm';
import type { Services } from '../gateway/services';
import type { KeyPolicy } from '../keys/policy';
import { apiKeys } from '../keys/schema';
import { chunks } from '../util/chunks';
import { forEachConcurrently } from '../util/concurrency';
import { enqueueEvent } from '../webhooks/outbox';
import { ID_CHUNK, pollPath, type DeferredItem, type DeferredStatus } from './queue';
import { deferredItems } from './schema';

/**
 * Tells a key's webhook (`policy.webhook_id`) that its deferred requests ended: one
 * `deferred.completed` event per item, whatever the ending (`data.status` says which), so a
 * caller never has to poll for a failure. Each event enters the webhook outbox (`enqueueEvent`)
 * in the same transaction that marks its item announced, keyed by the item, so it is written
 * once; signing, delivery, retries and the delivery log are the outbox's (src/webhooks).
 */

export interface DeferredEvent {
  webhookId: string;
  data: { id: string; status: DeferredStatus; request_id: string; key_id: string; model: string; poll_url: string; completed_at: string };
}

/** Concurrent enqueues from one run. */
const ENQUEUE_CONCURRENCY = 8;

/** The events for ended items whose key has a webhook. */
export async function deferredEvents(services: Services, ended: readonly DeferredItem[]): Promise<DeferredEvent[]> {
  if (ended.length === 0) return [];
  const keyIds = [...new Set(ended.map((item) => item.keyId))];
  const rows = await services.deps.db.select({ id: apiKeys.id, policy: apiKeys.policy }).from(apiKeys).where(inArray(apiKeys.id, keyIds));
  const webhookOf = new Map<string, string>();
  for (const row of rows) {
    const webhookId = (JSON.parse(row.policy) as KeyPolicy).webhook_id ?? services.deps.config.defaultPolicy.webhook_id;
    if (webhookId) webhookOf.set(row.id, webhookId);
  }
  const events: DeferredEvent[] = [];
  for (const item of ended) {
    const webhookId = webhookOf.get(item.keyId);
    if (!webhookId) continue;
    const at = new Date(item.finishedAt ?? item.createdAt).toISOString();
    events.push({
      webhookId,
      data: { id: item.id, status: item.status as DeferredStatus, request_id: item.requestId, key_id: item.keyId, model: item.requestedModel, poll_url: pollPath(item.id), completed_at: at },
    });
  }
  return events;
}

/** Puts the endings' events in the webhook outbox and marks the items announced. */
export async function announceDeferred(services: Services, ended: readonly DeferredItem[]): Promise<void> {
  if (ended.length === 0) return;
  const { db, logger } = services.deps;
  const events = await deferredEvents(services, ended);
  await forEachConcurrently(events, ENQUEUE_CONCURRENCY, async (event) => {
    const enqueued = await enqueueEvent(services, 'deferred.completed', event.data, {
      endpointIds: [event.webhookId],
      idempotencyKey: `deferred.completed:${event.data.id}`,
      alongside: [db.update(deferredItems).set({ announced: true }).where(eq(deferredItems.id, event.data.id))],
    });
    if (enqueued.created && enqueued.deliveryIds.length === 0) {
      logger.warn('deferred.completed: the key names a webhook that is not an enabled endpoint subscribed to deferred.completed', { webhook_id: event.webhookId, key_id: event.data.key_id });
    }
  });
  const announced = new Set(events.map((event) => event.data.id));
  const silent = ended.filter((item) => !announced.has(item.id)).map((item) => item.id);
  for (const ids of chunks(silent, ID_CHUNK)) await db.update(deferredItems).set({ announced: true }).where(inArray(deferredItems.id, ids));
}
