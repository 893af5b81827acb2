import { inArray } from 'drizzle-orm';
import type { Services } from '../gateway/services';
import type { KeyPolicy } from '../keys/policy';
import { apiKeys } from '../keys/schema';
import { chunks } from '../util/chunks';
import { forEachConcurrently } from '../util/concurrency';
import { ID_CHUNK, pollPath, type DeferredItem, type DeferredStatus } from './queue';
import { deferredItems } from './schema';
import { postWebhook, type WebhookMessage } from './webhook';

/**
 * Tells a key's webhook (`policy.webhook_id`) that its deferred requests ended: one
 * `deferred.completed` event per item, whatever the ending (`data.status` says which), so a
 * caller never has to poll for a failure. Delivery is a signed POST to the endpoint the config
 * declares under that id; an item is marked announced once its event is delivered (or cannot
 * be); later batch runs retry the rest with backoff (see announcementDue), for up to a day.
 */

export interface DeferredEvent extends WebhookMessage {
  webhookId: string;
  type: 'deferred.completed';
  data: { id: string; status: DeferredStatus; request_id: string; key_id: string; model: string; poll_url: string; completed_at: string };
}

/** Concurrent deliveries from one run. */
const DELIVERY_CONCURRENCY = 8;
/** An event still undelivered this long after the ending is given up (and logged). */
const GIVE_UP_MS = 24 * 60 * 60_000;

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
      id: `msg_${item.id}`,
      webhookId,
      type: 'deferred.completed',
      timestamp: at,
      data: { id: item.id, status: item.status as DeferredStatus, request_id: item.requestId, key_id: item.keyId, model: item.requestedModel, poll_url: pollPath(item.id), completed_at: at },
    });
  }
  return events;
}

/** Delivers the endings' events and marks the items announced (all but those to retry). */
export async function announceDeferred(services: Services, ended: readonly DeferredItem[]): Promise<void> {
  if (ended.length === 0) return;
  const { deps } = services;
  const retry = new Set<string>();
  const endpoints = new Map(deps.config.webhookEndpoints.map((endpoint) => [endpoint.id, endpoint]));
  await forEachConcurrently(await deferredEvents(services, ended), DELIVERY_CONCURRENCY, async (event) => {
    const endpoint = endpoints.get(event.webhookId);
    if (!endpoint) {
      deps.logger.warn('deferred.completed: the key names a webhook the config does not declare', { webhook_id: event.webhookId, key_id: event.data.key_id });
      return;
    }
    const outcome = await postWebhook(deps, endpoint, event);
    if (outcome.delivered) return;
    const fresh = deps.clock.now() - Date.parse(event.data.completed_at) < GIVE_UP_MS;
    if (outcome.retry && fresh) retry.add(event.data.id);
    else deps.logger.error('deferred.completed: delivery given up', { webhook_id: event.webhookId, id: event.data.id, reason: outcome.reason });
  });
  const done = ended.filter((item) => !retry.has(item.id)).map((item) => item.id);
  for (const ids of chunks(done, ID_CHUNK)) await deps.db.update(deferredItems).set({ announced: true }).where(inArray(deferredItems.id, ids));
}
