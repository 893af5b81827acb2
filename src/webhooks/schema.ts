import { index, integer, sqliteTable, text, unique } from 'drizzle-orm/sqlite-core';

/** Where events are delivered. The secret is stored as given (`whsec_` + base64): signing needs it. */
export const webhookEndpoints = sqliteTable('webhook_endpoints', {
  id: text('id').primaryKey(),
  url: text('url').notNull(),
  description: text('description'),
  /** JSON array of event types this endpoint receives. */
  events: text('events').notNull(),
  secret: text('secret').notNull(),
  /** standard (Standard Webhooks JSON) | slack (Slack incoming-webhook body, still signed) */
  format: text('format').notNull(),
  enabled: integer('enabled', { mode: 'boolean' }).notNull(),
  /** Why the endpoint was disabled automatically (e.g. it answered 410 Gone). */
  disabledReason: text('disabled_reason'),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

/**
 * The outbox: one row per event, written only by `enqueueEvent`. `nonce` is random per write so
 * the deliveries inserted alongside can tell whether this write created the event or found it.
 */
export const webhookEvents = sqliteTable(
  'webhook_events',
  {
    /** Also the `webhook-id` header: the same on every retry, so receivers can de-duplicate. */
    id: text('id').primaryKey(),
    type: text('type').notNull(),
    /** The JSON body `{type, timestamp, data}` exactly as signed and sent (standard format). */
    payload: text('payload').notNull(),
    nonce: text('nonce').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [index('webhook_events_created_idx').on(t.createdAt)],
);

/** One delivery per (event, endpoint): its state, its schedule, and the outcome of the last attempt. */
export const webhookDeliveries = sqliteTable(
  'webhook_deliveries',
  {
    id: text('id').primaryKey(),
    eventId: text('event_id').notNull(),
    endpointId: text('endpoint_id').notNull(),
    /** pending | sending | succeeded | failed | cancelled */
    status: text('status').notNull(),
    attempts: integer('attempts').notNull(),
    maxAttempts: integer('max_attempts').notNull(),
    nextAttemptAt: integer('next_attempt_at').notNull(),
    /** While `sending`: the attempt is owned until this time; after it, another worker may take it over. */
    leaseUntil: integer('lease_until'),
    lastAttemptAt: integer('last_attempt_at'),
    lastStatus: integer('last_status'),
    lastError: text('last_error'),
    deliveredAt: integer('delivered_at'),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [
    unique('webhook_deliveries_once').on(t.eventId, t.endpointId),
    index('webhook_deliveries_due_idx').on(t.status, t.nextAttemptAt),
    index('webhook_deliveries_endpoint_idx').on(t.endpointId, t.createdAt),
  ],
);

/** The delivery log: every attempt, with what the receiver answered. */
export const webhookAttempts = sqliteTable(
  'webhook_attempts',
  {
    id: text('id').primaryKey(),
    deliveryId: text('delivery_id').notNull(),
    attempt: integer('attempt').notNull(),
    at: integer('at').notNull(),
    /** The HTTP status, or null when there was no answer (timeout, refused, blocked by the SSRF guard). */
    status: integer('status'),
    durationMs: integer('duration_ms').notNull(),
    error: text('error'),
    /** The first bytes of the receiver's answer, for debugging. */
    responseSnippet: text('response_snippet'),
  },
  (t) => [unique('webhook_attempts_once').on(t.deliveryId, t.attempt)],
);
