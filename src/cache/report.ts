import { and, gte, lt, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client';
import { usageEvents } from '../ledger/schema';
import { promptCacheReturns } from './schema';
import { NO_WRITES, type WriteCounts } from './write-return';

export type CachingGroupBy = 'key' | 'team';

export interface CachingQuery {
  fromMs: number;
  toMs: number;
  groupBy: CachingGroupBy;
}

/** Caching figures for one principal (or the total); money in nano-USD, all counts exact. */
export interface CachingFigures {
  requests: number;
  response_cache: {
    hits: number;
    misses: number;
    bypassed: number;
    /** hits / (hits + misses); null when no request used the cache. */
    hit_ratio: number | null;
    /** Caching savings of hit rows: each is the filling call's cost plus its own prompt-caching saving. */
    savings_nusd: number;
  };
  prompt_cache: {
    prompt_tokens: number;
    cached_input_tokens: number;
    cache_write_tokens: number;
    cache_write_1h_tokens: number;
    /** cached_input_tokens / prompt_tokens; null without prompt tokens. */
    cached_ratio: number | null;
    /** Sluice-placed breakpoint writes, by outcome (hourly resolution). */
    writes: number;
    writes_1h: number;
    writes_paid_back: number;
    /** Expired before their reads covered the write premium (never-read ones included). */
    writes_not_paid_back: number;
    writes_never_read: number;
    /** Not yet settled: still alive, or expired since the last settlement. */
    writes_open: number;
    reads: number;
    /** Caching savings of the rows that called the upstream. */
    savings_nusd: number;
  };
  caching_savings_nusd: number;
  cost_nusd: number;
  baseline_cost_nusd: number;
}

export interface CachingRow extends CachingFigures {
  group: { key_id: string } | { team: string | null };
}

export interface CachingReport {
  from: string;
  to: string;
  group_by: CachingGroupBy;
  currency: 'USD';
  rows: CachingRow[];
  totals: CachingFigures;
}

const HOUR_MS = 3_600_000;

/** SUM over an integer expression, 0 (not NULL) over no rows. */
function total(expression: SQL): SQL<number> {
  return sql<number>`coalesce(sum(${expression}), 0)`;
}

interface LedgerSums {
  requests: number;
  hits: number;
  misses: number;
  bypassed: number;
  inputTokens: number;
  cachedInputTokens: number;
  cacheWriteTokens: number;
  cacheWrite1hTokens: number;
  responseSavings: number;
  promptSavings: number;
  cost: number;
  baseline: number;
}


const NO_LEDGER: LedgerSums = { requests: 0, hits: 0, misses: 0, bypassed: 0, inputTokens: 0, cachedInputTokens: 0, cacheWriteTokens: 0, cacheWrite1hTokens: 0, responseSavings: 0, promptSavings: 0, cost: 0, baseline: 0 };

function figures(l: LedgerSums, w: WriteCounts): CachingFigures {
  const lookups = l.hits + l.misses;
  const prompt = l.inputTokens + l.cachedInputTokens + l.cacheWriteTokens;
  return {
    requests: l.requests,
    response_cache: { hits: l.hits, misses: l.misses, bypassed: l.bypassed, hit_ratio: lookups === 0 ? null : l.hits / lookups, savings_nusd: l.responseSavings },
    prompt_cache: {
      prompt_tokens: prompt,
      cached_input_tokens: l.cachedInputTokens,
      cache_write_tokens: l.cacheWriteTokens,
      cache_write_1h_tokens: l.cacheWrite1hTokens,
      cached_ratio: prompt === 0 ? null : l.cachedInputTokens / prompt,
      writes: w.writes,
      writes_1h: w.writes1h,
      writes_paid_back: w.paidBack,
      writes_not_paid_back: w.unpaid,
      writes_never_read: w.unread,
      writes_open: w.writes - w.paidBack - w.unpaid,
      reads: w.reads,
      savings_nusd: l.promptSavings,
    },
    caching_savings_nusd: l.responseSavings + l.promptSavings,
    cost_nusd: l.cost,
    baseline_cost_nusd: l.baseline,
  };
}

function add<T extends object>(a: T, b: T): T {
  const sum = { ...a } as Record<string, number>;
  for (const [name, value] of Object.entries(b)) sum[name] = (sum[name] ?? 0) + (value as number);
  return sum as T;
}

/**
 * Caching per principal over [from, to): response-cache hits and their savings, prompt-cache
 * tokens and savings from the ledger (exact), and the outcome of the cache writes Sluice placed
 * (counted by the UTC hour of the write, so `from` is taken down to its hour for those).
 */
export async function cachingReport(db: Db, query: CachingQuery): Promise<CachingReport> {
  const e = usageEvents;
  const ledgerGroup = query.groupBy === 'key' ? e.keyId : e.team;
  const ledgerRows = await db
    .select({
      group: ledgerGroup,
      requests: sql<number>`count(*)`,
      hits: total(sql`${e.cache} = 'hit'`),
      misses: total(sql`${e.cache} = 'miss'`),
      bypassed: total(sql`${e.cache} = 'bypass'`),
      inputTokens: total(sql`${e.inputTokens}`),
      cachedInputTokens: total(sql`${e.cachedInputTokens}`),
      cacheWriteTokens: total(sql`${e.cacheWriteTokens}`),
      cacheWrite1hTokens: total(sql`${e.cacheWrite1hTokens}`),
      responseSavings: total(sql`CASE WHEN ${e.cache} = 'hit' THEN ${e.cachingSavingsNusd} ELSE 0 END`),
      promptSavings: total(sql`CASE WHEN ${e.cache} = 'hit' THEN 0 ELSE ${e.cachingSavingsNusd} END`),
      cost: total(sql`${e.costNusd}`),
      baseline: total(sql`${e.baselineCostNusd}`),
    })
    .from(e)
    .where(and(gte(e.time, query.fromMs), lt(e.time, query.toMs)))
    .groupBy(ledgerGroup);

  const r = promptCacheReturns;
  const writeGroup = query.groupBy === 'key' ? r.keyId : r.team;
  const writeRows = await db
    .select({
      group: writeGroup,
      writes: total(sql`${r.writes}`),
      writes1h: total(sql`${r.writes1h}`),
      reads: total(sql`${r.reads}`),
      paidBack: total(sql`${r.paidBack}`),
      unpaid: total(sql`${r.unpaid}`),
      unread: total(sql`${r.unread}`),
    })
    .from(r)
    .where(and(gte(r.hour, query.fromMs - (query.fromMs % HOUR_MS)), lt(r.hour, query.toMs)))
    .groupBy(writeGroup);

  const groups = new Map<string | null, { ledger: LedgerSums; writes: WriteCounts }>();
  for (const { group, ...sums } of ledgerRows) groups.set(group, { ledger: sums, writes: NO_WRITES });
  for (const { group, ...sums } of writeRows) groups.set(group, { ledger: groups.get(group)?.ledger ?? NO_LEDGER, writes: sums });

  let ledgerTotal = NO_LEDGER;
  let writesTotal = NO_WRITES;
  const rows: CachingRow[] = [];
  const ordered = [...groups].sort(([a], [b]) => (a ?? '').localeCompare(b ?? ''));
  for (const [group, sums] of ordered) {
    ledgerTotal = add(ledgerTotal, sums.ledger);
    writesTotal = add(writesTotal, sums.writes);
    rows.push({ group: query.groupBy === 'key' ? { key_id: group ?? '' } : { team: group }, ...figures(sums.ledger, sums.writes) });
  }
  return {
    from: new Date(query.fromMs).toISOString(),
    to: new Date(query.toMs).toISOString(),
    group_by: query.groupBy,
    currency: 'USD',
    rows,
    totals: figures(ledgerTotal, writesTotal),
  };
}
