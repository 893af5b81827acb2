import { index, integer, real, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/**
 * The ledger: exactly one row per request that passed validation. Money columns are integer
 * nano-USD; `input_tokens` is the uncached input, so the input classes add up to the prompt.
 * The three savings columns split `baseline_cost_nusd - cost_nusd` by lever, exactly.
 */
export const usageEvents = sqliteTable(
  'usage_events',
  {
    id: text('id').primaryKey(),
    /** Epoch milliseconds (UTC) from the injected clock, when the request arrived. */
    time: integer('time').notNull(),
    requestId: text('request_id').notNull().unique(),
    keyId: text('key_id').notNull(),
    user: text('user'),
    team: text('team'),
    project: text('project'),
    /** JSON object: the key's tags plus request detail tags. */
    tags: text('tags').notNull().default('{}'),
    surface: text('surface').notNull(),
    requestedModel: text('requested_model').notNull(),
    servedModel: text('served_model'),
    provider: text('provider'),
    family: text('family'),
    tier: text('tier').notNull(),
    /** Why that tier was asked for (src/routing/tier.ts TierReason), e.g. `flex_fallback`. */
    tierReason: text('tier_reason'),
    /** Upstream calls made for this request: flex retries and a fallback count; 0 when none was made. */
    attempts: integer('attempts').notNull().default(1),
    stream: integer('stream', { mode: 'boolean' }).notNull(),
    inputTokens: integer('input_tokens').notNull(),
    cachedInputTokens: integer('cached_input_tokens').notNull(),
    cacheWriteTokens: integer('cache_write_tokens').notNull(),
    cacheWrite1hTokens: integer('cache_write_1h_tokens').notNull(),
    outputTokens: integer('output_tokens').notNull(),
    reasoningTokens: integer('reasoning_tokens').notNull(),
    costNusd: integer('cost_nusd').notNull(),
    baselineCostNusd: integer('baseline_cost_nusd').notNull(),
    routingSavingsNusd: integer('routing_savings_nusd').notNull(),
    cachingSavingsNusd: integer('caching_savings_nusd').notNull(),
    tierSavingsNusd: integer('tier_savings_nusd').notNull(),
    cache: text('cache').notNull(),
    complexity: real('complexity'),
    scorerVersion: text('scorer_version'),
    routeReason: text('route_reason'),
    /** Shadow routing: the model routing would have served, and what these tokens would have cost on it. */
    shadowModel: text('shadow_model'),
    shadowCostNusd: integer('shadow_cost_nusd'),
    latencyMs: integer('latency_ms').notNull(),
    ttftMs: integer('ttft_ms'),
    /** ok | error | aborted | blocked */
    status: text('status').notNull(),
    httpStatus: integer('http_status').notNull(),
    errorType: text('error_type'),
    /** True when the upstream never reported usage (e.g. the caller left mid-stream) and tokens were counted locally. */
    usageEstimated: integer('usage_estimated', { mode: 'boolean' }).notNull(),
  },
  (t) => [
    index('usage_events_time_idx').on(t.time),
    index('usage_events_key_time_idx').on(t.keyId, t.time),
    index('usage_events_team_time_idx').on(t.team, t.time),
  ],
);
