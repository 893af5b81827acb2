import { sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import type { Usage } from '../gateway/usage';
import type { LedgerWriter } from '../ledger/writer';
import type { BreakpointCandidate, CacheTtl, PlacedBreakpoint } from './breakpoints';
import { FlushBuffer } from './flush-buffer';
import { promptCacheReturns } from './schema';

/**
 * Whether provider prompt-cache writes pay back, per key and cached prefix.
 *
 * A write costs more than plain input (Anthropic: 1.25× for the 5-minute cache, 2× for the
 * 1-hour one) and pays back only through reads before it expires. Two things are tracked:
 *
 *  - reuse gaps: the time between consecutive requests of a key that carry the same prefix (for
 *    conversation history: between a turn and the next turn of that conversation; a
 *    conversation that does not continue within the hour counts as never reused). From the
 *    recent gaps, the expected cost per request of each choice is exact arithmetic on the
 *    model's rates: no breakpoint costs `input`; a TTL T costs `q·read + (1−q)·write_T`, where
 *    q is the share of gaps shorter than T (a read refreshes the entry, so the next request
 *    reads iff it comes within T). The cheapest choice wins: 5 minutes for busy prefixes, one
 *    hour where reuse is slower than 5 minutes but steady, none where neither pays back.
 *  - write outcomes, from the usage each answer reports: a write is paid back once its reads
 *    have saved more than its premium; one that expires first did not pay back, one never read
 *    is waste. These are persisted per hour for reporting, and if the last writes of a prefix
 *    were all never read (the provider is not caching what the gaps predict), breakpoints stop
 *    there for an hour.
 *
 * All of it is in memory on the request path; counters reach the database with the ledger
 * writer's batches.
 */

export const TTL_MS: Record<CacheTtl, number> = { '5m': 5 * 60_000, '1h': 60 * 60_000 };

/** Gaps kept per prefix, and how many are needed before they override the default (5 minutes). */
export const GAP_WINDOW = 16;
export const MIN_GAPS = 3;
/** Consecutive never-read writes after which a prefix is left alone for an hour. */
export const UNREAD_STREAK = 4;

const MAX_RECORDS = 20_000;
const MAX_OPEN_PER_RECORD = 256;
const SWEEP_INTERVAL_MS = 15_000;
const HOUR_MS = 3_600_000;
/** How long an hour's totals stay in memory; an outcome later than that starts a new row. */
const ROW_MEMORY_MS = 6 * HOUR_MS;

/** Per-token rates of one model (any consistent unit; the catalog's are pico-USD). */
export interface CacheRates {
  input: number;
  cachedInput: number;
  write5m: number;
  /** Undefined when the model has no 1-hour cache. */
  write1h: number | undefined;
}

/** The TTL with the lowest expected cost per request for these reuse gaps, or null when not caching is cheapest. */
export function chooseTtl(gaps: readonly number[], rates: CacheRates): CacheTtl | null {
  if (gaps.length < MIN_GAPS) return '5m';
  const within = (ttl: CacheTtl): number => gaps.filter((gap) => gap < TTL_MS[ttl]).length / gaps.length;
  const cost = (ttl: CacheTtl, write: number): number => within(ttl) * rates.cachedInput + (1 - within(ttl)) * write;
  let best: CacheTtl | null = null;
  let bestCost = rates.input;
  if (cost('5m', rates.write5m) < bestCost) {
    best = '5m';
    bestCost = cost('5m', rates.write5m);
  }
  if (rates.write1h !== undefined && cost('1h', rates.write1h) < bestCost) best = '1h';
  return best;
}

/** Reads a write needs before it has saved its premium over plain input (at least one). */
export function readsToPayBack(rates: CacheRates, ttl: CacheTtl): number {
  const premium = (ttl === '1h' ? (rates.write1h ?? rates.write5m) : rates.write5m) - rates.input;
  const saving = rates.input - rates.cachedInput;
  if (premium <= 0) return 1;
  return saving <= 0 ? Number.POSITIVE_INFINITY : Math.max(1, Math.ceil(premium / saving));
}

interface OpenWrite {
  ttl: CacheTtl;
  expiresAt: number;
  reads: number;
  needed: number;
  /** Start of the UTC hour of the write: its outcome is counted there. */
  hour: number;
}

interface ReuseRecord {
  keyId: string;
  team: string | null;
  model: string;
  /** The prefix digest, or `turns` for a key's conversation history. */
  reuseId: string;
  gaps: number[];
  /** Stable prefixes: when a request last carried it. */
  lastSeenAt: number | undefined;
  /** Conversation history: turn prefix → when it was a conversation's newest history. */
  turns: Map<string, number>;
  /** Entry digest → the write we believe is alive at the provider. */
  open: Map<string, OpenWrite>;
  unreadStreak: number;
  suppressedUntil: number;
}

/** What became of cache writes (the `prompt_cache_returns` counters). */
export interface WriteCounts {
  writes: number;
  writes1h: number;
  reads: number;
  paidBack: number;
  unpaid: number;
  unread: number;
}

export const NO_WRITES: WriteCounts = Object.freeze({ writes: 0, writes1h: 0, reads: 0, paidBack: 0, unpaid: 0, unread: 0 });

/**
 * One persisted row: the totals this process has counted for a key, prefix, model and hour. Its
 * statement writes absolute values, so a retried ledger batch cannot count twice; `writer` tells
 * apart the rows of several instances (and of a row this process dropped from memory and began
 * again), which the report adds up.
 */
interface CountsRow extends WriteCounts {
  keyId: string;
  team: string | null;
  prefixHash: string;
  model: string;
  hour: number;
  writer: string;
}

function hourOf(ms: number): number {
  return ms - (ms % HOUR_MS);
}

function pushGap(record: ReuseRecord, gap: number): void {
  record.gaps.push(gap);
  if (record.gaps.length > GAP_WINDOW) record.gaps.shift();
}

/** Who a request's breakpoints belong to. */
export interface CacheOwner {
  keyId: string;
  team: string | null;
  model: string;
}

export class PromptCacheReturns {
  private readonly records = new Map<string, ReuseRecord>();
  private readonly rows = new Map<string, CountsRow>();
  private rowIncarnation = 0;
  private lastSweep = 0;
  private readonly counts: FlushBuffer<CountsRow>;

  /** `writerId` names this process in the rows it writes (unique per start). */
  constructor(
    db: Db,
    private readonly writerId: string,
  ) {
    const r = promptCacheReturns;
    this.counts = new FlushBuffer<CountsRow>((row) =>
      db
        .insert(r)
        .values(row)
        .onConflictDoUpdate({
          target: [r.keyId, r.prefixHash, r.model, r.hour, r.writer],
          set: {
            team: sql`excluded.team`,
            writes: sql`excluded.writes`,
            writes1h: sql`excluded.writes_1h`,
            reads: sql`excluded.reads`,
            paidBack: sql`excluded.paid_back`,
            unpaid: sql`excluded.unpaid`,
            unread: sql`excluded.unread`,
          },
        }),
    );
  }

  /** Counters go out with the ledger's batches; expired writes are settled just before. */
  attach(ledger: LedgerWriter, now: () => number): void {
    ledger.addFlushHook(() => {
      this.sweep(now());
      return [];
    });
    this.counts.attach(ledger);
  }

  /**
   * Records that a request carries this candidate prefix and decides whether, and for how long,
   * to cache it. Called once per candidate while the request body is built.
   */
  decide(owner: CacheOwner, candidate: BreakpointCandidate, rates: CacheRates, now: number): CacheTtl | null {
    const record = this.record(owner, candidate.slot === 'prefix' ? candidate.hash : 'turns');
    this.expire(record, now);
    if (candidate.slot === 'prefix') {
      if (record.lastSeenAt !== undefined) pushGap(record, now - record.lastSeenAt);
      record.lastSeenAt = now;
    } else {
      const since = record.turns.get(candidate.hash);
      if (since === undefined) {
        record.turns.set(candidate.hash, now);
        if (record.turns.size > MAX_OPEN_PER_RECORD) record.turns.delete(record.turns.keys().next().value as string);
      } else {
        record.turns.delete(candidate.hash);
        pushGap(record, now - since);
      }
    }
    if (now < record.suppressedUntil) return null;
    return chooseTtl(record.gaps, rates);
  }

  /**
   * Matches the cache usage an answer reported to the breakpoints the request placed: the one
   * whose prefix length best explains the read tokens was read; those beyond it, within the
   * written tokens, were written. Token estimates are scaled by the reported prompt size first.
   */
  settle(owner: CacheOwner, placed: readonly PlacedBreakpoint[], estimatedPromptTokens: number, usage: Usage, rates: CacheRates, now: number): void {
    if (placed.length === 0) return;
    const prompt = usage.inputTokens + usage.cachedInputTokens + usage.cacheWriteTokens;
    const scale = estimatedPromptTokens > 0 ? prompt / estimatedPromptTokens : 1;
    const read = usage.cachedInputTokens;
    const cachedEnd = (read + usage.cacheWriteTokens) * 1.15 + 32;
    let readIndex = -1;
    if (read > 0) {
      let bestDistance = read * 0.15 + 32;
      placed.forEach((p, i) => {
        const distance = Math.abs(p.tokens * scale - read);
        if (distance <= bestDistance) {
          bestDistance = distance;
          readIndex = i;
        }
      });
    }
    const readBoundary = readIndex >= 0 ? (placed[readIndex] as PlacedBreakpoint).tokens * scale : read;
    placed.forEach((p, i) => {
      const record = this.record(owner, p.slot === 'prefix' ? p.hash : 'turns');
      const boundary = p.tokens * scale;
      if (i === readIndex) this.onRead(record, p.hash, now);
      else if (usage.cacheWriteTokens > 0 && boundary > readBoundary && boundary <= cachedEnd) this.onWrite(record, p.hash, p.ttl, rates, now);
    });
  }

  /** Settles every write that has expired by `now`, and forgets old hours' totals (runs at most every 15 s). */
  sweep(now: number): void {
    if (now - this.lastSweep < SWEEP_INTERVAL_MS) return;
    this.lastSweep = now;
    for (const record of this.records.values()) this.expire(record, now);
    for (const [id, row] of this.rows) if (row.hour < now - ROW_MEMORY_MS) this.rows.delete(id);
  }

  private record(owner: CacheOwner, reuseId: string): ReuseRecord {
    const id = `${owner.keyId}\u0000${owner.model}\u0000${reuseId}`;
    let record = this.records.get(id);
    if (record) {
      this.records.delete(id);
    } else {
      record = { keyId: owner.keyId, team: owner.team, model: owner.model, reuseId, gaps: [], lastSeenAt: undefined, turns: new Map(), open: new Map(), unreadStreak: 0, suppressedUntil: 0 };
      if (this.records.size >= MAX_RECORDS) this.records.delete(this.records.keys().next().value as string);
    }
    record.team = owner.team;
    this.records.set(id, record);
    return record;
  }

  private count(record: ReuseRecord, hour: number, delta: Partial<WriteCounts>): void {
    const id = `${record.keyId}\u0000${record.reuseId}\u0000${record.model}\u0000${hour}`;
    let row = this.rows.get(id);
    if (!row) {
      row = { keyId: record.keyId, team: record.team, prefixHash: record.reuseId, model: record.model, hour, writer: `${this.writerId}.${this.rowIncarnation++}`, ...NO_WRITES };
      this.rows.set(id, row);
    }
    row.team = record.team;
    for (const [name, value] of Object.entries(delta) as Array<[keyof WriteCounts, number]>) row[name] += value;
    this.counts.set(id, { ...row });
  }

  private onWrite(record: ReuseRecord, hash: string, ttl: CacheTtl, rates: CacheRates, now: number): void {
    const previous = record.open.get(hash);
    if (previous) this.close(record, hash, previous);
    const hour = hourOf(now);
    record.open.set(hash, { ttl, expiresAt: now + TTL_MS[ttl], reads: 0, needed: readsToPayBack(rates, ttl), hour });
    if (record.open.size > MAX_OPEN_PER_RECORD) record.open.delete(record.open.keys().next().value as string);
    this.count(record, hour, { writes: 1, writes1h: ttl === '1h' ? 1 : 0 });
  }

  private onRead(record: ReuseRecord, hash: string, now: number): void {
    this.count(record, hourOf(now), { reads: 1 });
    const open = record.open.get(hash);
    if (!open) return;
    open.reads++;
    open.expiresAt = now + TTL_MS[open.ttl];
    if (open.reads === open.needed) this.count(record, open.hour, { paidBack: 1 });
  }

  private expire(record: ReuseRecord, now: number): void {
    for (const [hash, open] of record.open) if (open.expiresAt <= now) this.close(record, hash, open);
    for (const [hash, since] of record.turns) {
      if (now - since < TTL_MS['1h']) break;
      // A conversation that did not continue within the longest TTL: its history was never reused.
      record.turns.delete(hash);
      pushGap(record, Number.POSITIVE_INFINITY);
    }
  }

  private close(record: ReuseRecord, hash: string, open: OpenWrite): void {
    record.open.delete(hash);
    if (open.reads < open.needed) this.count(record, open.hour, { unpaid: 1, unread: open.reads === 0 ? 1 : 0 });
    record.unreadStreak = open.reads === 0 ? record.unreadStreak + 1 : 0;
    if (record.unreadStreak >= UNREAD_STREAK) {
      record.suppressedUntil = open.expiresAt + HOUR_MS;
      record.unreadStreak = 0;
    }
  }
}
