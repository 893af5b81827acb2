import { and, eq, gt, sql } from 'drizzle-orm';
import type { ServiceTier } from '../catalog/types';
import type { Db } from '../db/client';
import type { Clock, Logger } from '../deps';
import type { ChatCompletion, ChatRequest } from '../gateway/chat';
import type { CostAttribution } from '../ledger/attribution';
import type { LedgerWriter } from '../ledger/writer';
import { Counter, type Metrics } from '../ops/metrics';
import { FlushBuffer } from './flush-buffer';
import { ByteLru } from './lru';
import type { ResponseCachePlan } from './policy';
import { responseCacheKey } from './response-key';
import { utf8Length } from '../util/utf8';
import { responseCache } from './schema';

/** A stored answer, as served on a hit. Shared between hits: never mutate it. */
export interface CachedAnswer {
  completion: ChatCompletion;
  /** The tier the filling call was served on. */
  tier: ServiceTier;
  /** The filling call's priced outcome. */
  fill: CostAttribution;
  expiresAt: number;
}

/** The cache's part in one request: `x-sluice-cache` and the ledger's `cache` column. */
export type ResponseLookup =
  | { status: 'hit'; key: string; answer: CachedAnswer }
  | { status: 'miss'; key: string; plan: ResponseCachePlan; servedModel: string }
  | { status: 'bypass' };

export interface ResponseCacheOptions {
  /** Bound of the in-process LRU in front of the table (0 disables it). */
  memoryBytes: number;
  /** Answers larger than this are not stored. */
  maxEntryBytes: number;
  /** The table's size cap, enforced by the `cache` job. */
  maxTotalBytes: number;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}

/**
 * The exact-match response cache: a libSQL table with a byte-bounded LRU in front. Lookups read
 * the LRU, then the table; stores go to the LRU at once and to the table in the background; the
 * time of each hit rides on the ledger writer's batches (the hits themselves are ledger rows).
 * Instances sharing a database share entries (an instance's LRU may serve an entry that another
 * refreshed, until it expires).
 */
export class ResponseCache {
  private readonly memory: ByteLru<CachedAnswer>;
  private readonly outcomes: Counter;
  /** Entry key → when it was last served: eviction beyond the size cap goes by it. */
  private readonly touches = new FlushBuffer<{ key: string; usedAt: number }>(({ key, usedAt }) =>
    this.db
      .update(responseCache)
      .set({ lastUsedAt: sql`max(${responseCache.lastUsedAt}, ${usedAt})` })
      .where(eq(responseCache.key, key)),
  );

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly defer: (promise: Promise<unknown>) => void,
    private readonly options: ResponseCacheOptions,
    metrics: Metrics,
  ) {
    this.memory = new ByteLru(options.memoryBytes);
    this.outcomes = metrics.add(new Counter('sluice_response_cache_total', 'Response cache outcomes per request: hit, miss, bypass.'));
    metrics.gauge('sluice_response_cache_memory_bytes', 'Bytes of answers held in the in-process LRU.', () => this.memory.bytes);
  }

  /** When entries were last used is written with the ledger's batches. */
  attach(ledger: LedgerWriter): void {
    this.touches.attach(ledger);
  }

  /** Finds the stored answer for a request, if the plan allows looking and one is alive. */
  async lookup(plan: ResponseCachePlan | undefined, servedModel: string, request: ChatRequest): Promise<ResponseLookup> {
    const lookup = await this.find(plan, servedModel, request);
    this.outcomes.inc({ result: lookup.status });
    return lookup;
  }

  private async find(plan: ResponseCachePlan | undefined, servedModel: string, request: ChatRequest): Promise<ResponseLookup> {
    if (!plan) return { status: 'bypass' };
    const key = await responseCacheKey(plan.scope, servedModel, request);
    if (!plan.lookup) return { status: 'miss', key, plan, servedModel };
    const now = this.clock.now();
    const answer = this.memory.get(key) ?? (await this.read(key, now).catch((error: unknown) => {
      // The cache is an optimization: when its table cannot be read, the upstream answers.
      this.logger.warn('response cache: lookup failed; answering from the upstream', { error: (error as Error).message });
      return undefined;
    }));
    if (!answer || answer.expiresAt <= now) return { status: 'miss', key, plan, servedModel };
    this.touches.set(key, { key, usedAt: now });
    return { status: 'hit', key, answer };
  }

  /** Stores a successful answer for a request that missed (or asked for a refresh). */
  store(lookup: Extract<ResponseLookup, { status: 'miss' }>, completion: ChatCompletion, tier: ServiceTier, fill: CostAttribution): void {
    const json = JSON.stringify(completion);
    const sizeBytes = utf8Length(json);
    if (sizeBytes > this.options.maxEntryBytes) return;
    const now = this.clock.now();
    const answer: CachedAnswer = deepFreeze({ completion: JSON.parse(json) as ChatCompletion, tier, fill, expiresAt: now + lookup.plan.ttlMs });
    this.memory.set(lookup.key, answer, sizeBytes);
    const row = {
      key: lookup.key,
      scope: lookup.plan.scope,
      model: lookup.servedModel,
      completion: json,
      tier,
      fillCostNusd: fill.costNusd,
      fillBaselineNusd: fill.baselineCostNusd,
      fillRoutingSavingsNusd: fill.routingSavingsNusd,
      fillCachingSavingsNusd: fill.cachingSavingsNusd,
      fillTierSavingsNusd: fill.tierSavingsNusd,
      sizeBytes,
      createdAt: now,
      expiresAt: answer.expiresAt,
      lastUsedAt: now,
    };
    const { key: _key, ...replacement } = row;
    this.defer(
      this.db
        .insert(responseCache)
        .values(row)
        .onConflictDoUpdate({ target: responseCache.key, set: replacement })
        .then(
          () => undefined,
          (error: unknown) => this.logger.warn('response cache: store failed; the answer stays in memory only', { error: (error as Error).message }),
        ),
    );
  }

  /**
   * Deletes expired entries, then the least recently used ones beyond the size cap. Safe to run
   * concurrently on several instances: both deletes are idempotent.
   */
  async cleanup(now: number): Promise<{ expired: number; evicted: number }> {
    const expired = await this.db.delete(responseCache).where(sql`${responseCache.expiresAt} <= ${now}`);
    const evicted = await this.db.run(sql`
      DELETE FROM response_cache WHERE key IN (
        SELECT key FROM (
          SELECT key, SUM(size_bytes) OVER (ORDER BY last_used_at DESC, key DESC ROWS UNBOUNDED PRECEDING) AS running
          FROM response_cache
        ) WHERE running > ${this.options.maxTotalBytes}
      )`);
    return { expired: expired.rowsAffected, evicted: evicted.rowsAffected };
  }

  private async read(key: string, now: number): Promise<CachedAnswer | undefined> {
    const [row] = await this.db
      .select()
      .from(responseCache)
      .where(and(eq(responseCache.key, key), gt(responseCache.expiresAt, now)))
      .limit(1);
    if (!row) return undefined;
    const answer: CachedAnswer = deepFreeze({
      completion: JSON.parse(row.completion) as ChatCompletion,
      tier: row.tier as ServiceTier,
      fill: {
        costNusd: row.fillCostNusd,
        baselineCostNusd: row.fillBaselineNusd,
        routingSavingsNusd: row.fillRoutingSavingsNusd,
        cachingSavingsNusd: row.fillCachingSavingsNusd,
        tierSavingsNusd: row.fillTierSavingsNusd,
      },
      expiresAt: row.expiresAt,
    });
    this.memory.set(key, answer, row.sizeBytes);
    return answer;
  }
}
