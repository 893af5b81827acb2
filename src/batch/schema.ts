import { index, integer, real, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/**
 * The deferred-request queue. One row per request answered 202; its status moves
 * queued → submitted → completed | failed | expired (or cancelled), each step guarded by the
 * status it leaves, so repeating a step changes nothing. Everything the ledger row needs is
 * captured at enqueue time: the key may change before the item completes.
 */
export const deferredItems = sqliteTable(
  'deferred_items',
  {
    /** `dfr_…`; also the `custom_id` of the item's line in a provider batch. */
    id: text('id').primaryKey(),
    /** The request id of the 202, and of the item's one ledger row. */
    requestId: text('request_id').notNull().unique(),
    keyId: text('key_id').notNull(),
    /** The front door it came through, which renders its result (openai | anthropic | bedrock). */
    surface: text('surface').notNull(),
    /** queued | submitted | completed | failed | expired | cancelled */
    status: text('status').notNull(),
    provider: text('provider').notNull(),
    /** The catalog id of the model that serves it. */
    model: text('model').notNull(),
    requestedModel: text('requested_model').notNull(),
    family: text('family'),
    /** The catalog id savings are attributed against. */
    baselineModel: text('baseline_model').notNull(),
    routeReason: text('route_reason').notNull(),
    tierReason: text('tier_reason').notNull(),
    complexity: real('complexity'),
    scorerVersion: text('scorer_version'),
    user: text('user'),
    team: text('team'),
    project: text('project'),
    /** The ledger's tags JSON, fixed at enqueue. */
    tags: text('tags').notNull(),
    /** The canonical request (chat-completions JSON). */
    request: text('request').notNull(),
    /** Size of the item's line in a provider batch, for packing jobs within byte limits. */
    bytes: integer('bytes').notNull(),
    /** The batch job that carries it (null while queued, and for drained items). */
    jobId: text('job_id'),
    /** Tries so far: drain calls, or provider batches that failed as a whole. */
    attempts: integer('attempts').notNull().default(0),
    /** A drain call in progress holds the item until then (epoch ms); past it, another run may retry. */
    leaseUntil: integer('lease_until'),
    /** The canonical answer (chat.completion JSON) once completed. */
    result: text('result'),
    /** JSON {code, message} once failed, expired or cancelled. */
    error: text('error'),
    /** The tier the answer was served and priced at. */
    servedTier: text('served_tier'),
    /** JSON usage (src/gateway/usage.ts) of the answer, as the ledger row prices it. */
    usage: text('usage'),
    /** The status the ending is recorded with (200, or the upstream's error status). */
    httpStatus: integer('http_status'),
    /**
     * An ended item's ledger row and webhook event follow its ending in their own transactions;
     * these flags say they are written, so a run after a crash writes whatever is missing.
     */
    ledgered: integer('ledgered', { mode: 'boolean' }).notNull().default(false),
    announced: integer('announced', { mode: 'boolean' }).notNull().default(false),
    createdAt: integer('created_at').notNull(),
    /** A queued item not submitted by then expires. */
    expiresAt: integer('expires_at').notNull(),
    submittedAt: integer('submitted_at'),
    finishedAt: integer('finished_at'),
  },
  (t) => [
    index('deferred_items_queue_idx').on(t.status, t.provider, t.model, t.id),
    index('deferred_items_key_idx').on(t.keyId, t.createdAt),
    index('deferred_items_job_idx').on(t.jobId),
    index('deferred_items_followup_idx').on(t.ledgered, t.announced, t.finishedAt),
  ],
);

/**
 * Provider batch jobs. A job is written (`preparing`) and its items claimed before anything is
 * sent upstream; the provider's batch id is recorded in the same transaction that marks the items
 * submitted. A job left `preparing` by a crash is reconciled against the provider's list of
 * batches before anything is sent again, so no item is submitted twice.
 */
export const batchJobs = sqliteTable(
  'batch_jobs',
  {
    /** `bj_…`; sent to the provider as batch metadata where the provider keeps it. */
    id: text('id').primaryKey(),
    provider: text('provider').notNull(),
    model: text('model').notNull(),
    /** preparing | submitted | cancelling | ended | failed */
    status: text('status').notNull(),
    /** The provider's batch id, once created. */
    upstreamId: text('upstream_id').unique(),
    /** The provider's own status word at the last poll (e.g. in_progress, finalizing). */
    upstreamStatus: text('upstream_status'),
    /** When the first call that creates something at the provider began; until then a crash sent nothing. */
    sendingAt: integer('sending_at'),
    /** OpenAI: the uploaded input file, kept so a retried submission does not upload again. */
    inputFileId: text('input_file_id'),
    itemCount: integer('item_count').notNull(),
    bytes: integer('bytes').notNull(),
    /** The run working on the job holds it until then (epoch ms). */
    leaseUntil: integer('lease_until'),
    /** JSON {code, message} when the job failed or was cancelled. */
    error: text('error'),
    createdAt: integer('created_at').notNull(),
    submittedAt: integer('submitted_at'),
    lastPolledAt: integer('last_polled_at'),
    endedAt: integer('ended_at'),
  },
  (t) => [index('batch_jobs_status_idx').on(t.status, t.createdAt)],
);
