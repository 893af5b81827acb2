import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/**
 * The response cache: one answer per (scope, served model, normalized request), stored as the
 * canonical completion with the priced outcome of the call that filled it, so a hit can be
 * attributed exactly. Bounded by expiry and a total size cap (the `cache` job evicts the least
 * recently used beyond it).
 */
export const responseCache = sqliteTable(
  'response_cache',
  {
    /** SHA-256 (hex) of the canonical request key (src/cache/response-key.ts). */
    key: text('key').primaryKey(),
    /** `key:<key id>` or `team:<team>`: who may be served this entry. */
    scope: text('scope').notNull(),
    model: text('model').notNull(),
    /** The canonical chat.completion JSON, usage included. */
    completion: text('completion').notNull(),
    /** The tier the filling call was served on. */
    tier: text('tier').notNull(),
    /** The filling call's ledger amounts (nano-USD): what a hit saves and how it splits by lever. */
    fillCostNusd: integer('fill_cost_nusd').notNull(),
    fillBaselineNusd: integer('fill_baseline_nusd').notNull(),
    fillRoutingSavingsNusd: integer('fill_routing_savings_nusd').notNull(),
    fillCachingSavingsNusd: integer('fill_caching_savings_nusd').notNull(),
    fillTierSavingsNusd: integer('fill_tier_savings_nusd').notNull(),
    sizeBytes: integer('size_bytes').notNull(),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    /** Creation or latest hit (epoch ms): the order of eviction beyond the size cap. */
    lastUsedAt: integer('last_used_at').notNull(),
  },
  (t) => [index('response_cache_expires_idx').on(t.expiresAt), index('response_cache_used_idx').on(t.lastUsedAt), index('response_cache_scope_idx').on(t.scope)],
);

/**
 * Provider prompt-cache writes and what became of them, per key, cached prefix, UTC hour of the
 * write and writing process: a write is paid back once its reads have saved more than the write's premium over
 * plain input; one that expires first is not, and one never read at all is pure waste.
 * `prefix_hash` names a stable prefix (tools + system), or is `turns` for the conversation
 * history breakpoints of that key, whose prefixes change every turn.
 */
export const promptCacheReturns = sqliteTable(
  'prompt_cache_returns',
  {
    keyId: text('key_id').notNull(),
    team: text('team'),
    prefixHash: text('prefix_hash').notNull(),
    model: text('model').notNull(),
    /** Epoch ms of the start of the UTC hour the writes happened in. */
    hour: integer('hour').notNull(),
    writes: integer('writes').notNull().default(0),
    writes1h: integer('writes_1h').notNull().default(0),
    reads: integer('reads').notNull().default(0),
    paidBack: integer('paid_back').notNull().default(0),
    /** Writes that expired before paying back (never-read ones included). */
    unpaid: integer('unpaid').notNull().default(0),
    /** Writes that expired without a single read. */
    unread: integer('unread').notNull().default(0),
    /** The gateway process that counted this row; rows of several writers add up. */
    writer: text('writer').notNull(),
  },
  (t) => [primaryKey({ columns: [t.keyId, t.prefixHash, t.model, t.hour, t.writer] }), index('prompt_cache_returns_hour_idx').on(t.hour)],
);
