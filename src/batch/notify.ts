import { inArray } from 'drizzle-orm';
import type { Services } from '../gateway/services';
import { apiKeys } from '../keys/schema';
import type { KeyPolicy } from '../keys/policy';
import type { DeferredItem, DeferredStatus } from './queue';
import { pollPath } from './queue';
import { deferredItems } from './schema';

/**
 * Tells a key's webhook (`policy.webhook_id`) that its deferred requests ended: one
 * `deferred.completed` event per item, whatever the ending (`data.status` says which), so a
 * caller never has to poll for a failure.
 */

export interface DeferredEvent {
  /** Stable per item, so a repeated delivery is recognisably the same event. */
  id: string;
  webhookId: string;
  type: 'deferred.completed';
  timestamp: string;
  data: { id: string; status: DeferredStatus; request_id: string; key_id: string; model: string; poll_url: string; completed_at: string };
}

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
    const status = item.status as DeferredStatus;
    events.push({
      id: `msg_${item.id}`,
      webhookId,
      type: 'deferred.completed',
      timestamp: at,
      data: { id: item.id, status, request_id: item.requestId, key_id: item.keyId, model: item.requestedModel, poll_url: pollPath(item.id), completed_at: at },
    });
  }
  return events;
}

/** PENDING-WIRING: delivery through the webhook outbox (issue 7) replaces the log line before this branch is finished. */
export async function announceDeferred(services: Services, ended: readonly DeferredItem[]): Promise<void> {
  if (ended.length === 0) return;
  for (const event of await deferredEvents(services, ended)) services.deps.logger.debug('deferred.completed', { ...event });
  await services.deps.db.update(deferredItems).set({ announced: true }).where(inArray(deferredItems.id, ended.map((item) => item.id)));
}
