import { and, desc, eq, inArray } from 'drizzle-orm';
import { z } from 'zod';
import type { ConfiguredEndpoint } from '../config';
import type { Db } from '../db/client';
import { SluiceError } from '../errors';
import { newId } from '../util/ids';
import { EVENT_TYPES, isSubscribable, type EventType } from './event-types';
import { checkWebhookUrl, type UrlPolicy } from './safe-url';
import { webhookDeliveries, webhookEndpoints } from './schema';
import { generateSecret, secretKey } from './signing';

const EventList = z
  .array(z.string())
  .min(1, 'events must list at least one event type (or "*" for all)')
  .max(EVENT_TYPES.length + 1)
  .superRefine((events, ctx) => {
    for (const event of events) {
      if (event !== '*' && !isSubscribable(event)) {
        ctx.addIssue({ code: 'custom', message: `unknown event type "${event}"; known types: ${EVENT_TYPES.join(', ')} (or "*")` });
      }
    }
  });

const Secret = z.string().superRefine((secret, ctx) => {
  const key = secretKey(secret);
  if (typeof key === 'string') ctx.addIssue({ code: 'custom', message: `not a Standard Webhooks secret: ${key}` });
});

export const CreateWebhookInput = z
  .object({
    url: z.string().trim().min(1).max(2048),
    events: EventList,
    secret: Secret.optional(),
    format: z.enum(['standard', 'slack']).optional(),
    description: z.string().trim().max(256).optional(),
    enabled: z.boolean().optional(),
  })
  .strict();
export type CreateWebhookInput = z.infer<typeof CreateWebhookInput>;

export const UpdateWebhookInput = CreateWebhookInput.omit({ secret: true }).partial().strict();
export type UpdateWebhookInput = z.infer<typeof UpdateWebhookInput>;

type EndpointRow = typeof webhookEndpoints.$inferSelect;

/** The public view of an endpoint (never the secret, which is shown once at creation). */
export interface WebhookView {
  id: string;
  url: string;
  description: string | null;
  events: string[];
  format: 'standard' | 'slack';
  enabled: boolean;
  disabled_reason: string | null;
  created_at: string;
  updated_at: string;
}

function toView(row: EndpointRow): WebhookView {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    events: JSON.parse(row.events) as string[],
    format: row.format === 'slack' ? 'slack' : 'standard',
    enabled: row.enabled,
    disabled_reason: row.disabledReason,
    created_at: new Date(row.createdAt).toISOString(),
    updated_at: new Date(row.updatedAt).toISOString(),
  };
}

/** Registers an endpoint after the SSRF guard; the returned `secret` is the only time it is shown. */
export async function createEndpoint(db: Db, policy: UrlPolicy, input: CreateWebhookInput, nowMs: number): Promise<WebhookView & { secret: string }> {
  const checked = await checkWebhookUrl(input.url, policy);
  const secret = input.secret ?? generateSecret();
  const row: EndpointRow = {
    id: newId('wh', nowMs),
    url: checked.url.href,
    description: input.description ?? null,
    events: JSON.stringify([...new Set(input.events)]),
    secret,
    format: input.format ?? 'standard',
    enabled: input.enabled ?? true,
    disabledReason: null,
    createdAt: nowMs,
    updatedAt: nowMs,
  };
  await db.insert(webhookEndpoints).values(row);
  return { ...toView(row), secret };
}

export async function findEndpoint(db: Db, id: string): Promise<EndpointRow | undefined> {
  const rows = await db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id)).limit(1);
  return rows[0];
}

export async function getEndpoint(db: Db, id: string): Promise<WebhookView> {
  const row = await findEndpoint(db, id);
  if (!row) throw new SluiceError('not_found', `No webhook endpoint with id "${id}".`);
  return toView(row);
}

export async function listEndpoints(db: Db): Promise<{ data: WebhookView[] }> {
  const rows = await db.select().from(webhookEndpoints).orderBy(desc(webhookEndpoints.id));
  return { data: rows.map(toView) };
}

export async function updateEndpoint(db: Db, policy: UrlPolicy, id: string, input: UpdateWebhookInput, nowMs: number): Promise<WebhookView> {
  const changes: Partial<EndpointRow> = { updatedAt: nowMs };
  if (input.url !== undefined) changes.url = (await checkWebhookUrl(input.url, policy)).url.href;
  if (input.events !== undefined) changes.events = JSON.stringify([...new Set(input.events)]);
  if (input.format !== undefined) changes.format = input.format;
  if (input.description !== undefined) changes.description = input.description;
  if (input.enabled !== undefined) {
    changes.enabled = input.enabled;
    if (input.enabled) changes.disabledReason = null;
  }
  const rows = await db.update(webhookEndpoints).set(changes).where(eq(webhookEndpoints.id, id)).returning();
  const row = rows[0];
  if (!row) throw new SluiceError('not_found', `No webhook endpoint with id "${id}".`);
  return toView(row);
}

/** Deletes an endpoint and cancels its undelivered messages (the delivery log stays). */
export async function deleteEndpoint(db: Db, id: string, nowMs: number): Promise<{ id: string; deleted: true }> {
  const [deleted] = await db.batch([
    db.delete(webhookEndpoints).where(eq(webhookEndpoints.id, id)).returning({ id: webhookEndpoints.id }),
    db
      .update(webhookDeliveries)
      .set({ status: 'cancelled', lastError: 'endpoint deleted', leaseUntil: null, nextAttemptAt: nowMs })
      .where(and(eq(webhookDeliveries.endpointId, id), inArray(webhookDeliveries.status, ['pending', 'sending']))),
  ]);
  if (deleted.length === 0) throw new SluiceError('not_found', `No webhook endpoint with id "${id}".`);
  return { id, deleted: true };
}

/** The ids among `ids` that name no endpoint. */
export async function missingEndpoints(db: Db, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await db.select({ id: webhookEndpoints.id }).from(webhookEndpoints).where(inArray(webhookEndpoints.id, [...ids]));
  const found = new Set(rows.map((r) => r.id));
  return ids.filter((id) => !found.has(id));
}

/**
 * The enabled endpoints an event goes to: those subscribed to its type, narrowed to `only` when
 * given. A test event goes to the one endpoint it names, whatever it subscribes to.
 */
export async function endpointsFor(db: Db, type: EventType, only: readonly string[] | undefined): Promise<EndpointRow[]> {
  const rows = await db
    .select()
    .from(webhookEndpoints)
    .where(only === undefined ? eq(webhookEndpoints.enabled, true) : and(eq(webhookEndpoints.enabled, true), inArray(webhookEndpoints.id, [...only])));
  if (type === 'webhook.test') return rows;
  return rows.filter((row) => {
    const events = JSON.parse(row.events) as string[];
    return events.includes('*') || events.includes(type);
  });
}

/**
 * Upserts the endpoints the config file declares (`webhooks.endpoints`) under their own ids: the
 * config is the source of truth for their URL, secret, events and format. Each URL passes the
 * guard's scheme, literal-address and name checks here (names are resolved at send time).
 * Removing one from the config does not delete it: DELETE /admin/webhooks/{id} does.
 */
export async function syncConfiguredEndpoints(db: Db, policy: UrlPolicy, endpoints: readonly ConfiguredEndpoint[], nowMs: number): Promise<void> {
  for (const endpoint of endpoints) {
    const where = `config file webhooks.endpoints "${endpoint.id}"`;
    const key = secretKey(endpoint.secret);
    if (typeof key === 'string') throw new SluiceError('invalid_request', `${where}: not a Standard Webhooks secret: ${key}`);
    const checked = await checkWebhookUrl(endpoint.url, { allowPrivate: policy.allowPrivate, resolveHost: undefined }).catch((error: unknown) => {
      throw new SluiceError('invalid_request', `${where}: ${(error as Error).message}`);
    });
    const fields = {
      url: checked.url.href,
      events: JSON.stringify(endpoint.events ?? ['deferred.completed']),
      secret: endpoint.secret,
      format: endpoint.format ?? 'standard',
      updatedAt: nowMs,
    };
    await db
      .insert(webhookEndpoints)
      .values({ id: endpoint.id, description: 'declared in the config file', enabled: true, disabledReason: null, createdAt: nowMs, ...fields })
      .onConflictDoUpdate({ target: webhookEndpoints.id, set: fields });
  }
}
