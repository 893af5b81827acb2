import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BreakpointCandidate, CacheTtl, PlacedBreakpoint } from '../../src/cache/breakpoints';
import { promptCacheReturns } from '../../src/cache/schema';
import { chooseTtl, PromptCacheReturns, readsToPayBack, TTL_MS, UNREAD_STREAK, type CacheRates } from '../../src/cache/write-return';
import { silentLogger } from '../../src/deps';
import type { Usage } from '../../src/gateway/usage';
import { LedgerWriter } from '../../src/ledger/writer';
import { Metrics } from '../../src/ops/metrics';
import { createTestDatabase, flaky } from '../helpers/db';
import { ledgerEvent } from '../helpers/ledger';

/** Claude Sonnet 5.5 in pico-USD per token: input $2, read $0.10, 5m write $2.50, 1h write $4. */
const SONNET: CacheRates = { input: 2_000_000, cachedInput: 100_000, write5m: 2_500_000, write1h: 4_000_000 };
const NO_ONE_HOUR: CacheRates = { ...SONNET, write1h: undefined };
const MINUTE = 60_000;
const T0 = Date.UTC(2026, 10, 25, 9, 0, 0);

const owner = { keyId: 'key_a', team: 'search', model: 'claude-sonnet-5-5' };
const prefix: BreakpointCandidate = { slot: 'prefix', hash: 'p1', tokens: 5000 };

function usage(read: number, write: number, uncached = 20): Usage {
  return { inputTokens: uncached, cachedInputTokens: read, cacheWriteTokens: write, cacheWrite1hTokens: 0, outputTokens: 30, reasoningTokens: 0 };
}

function placed(candidate: BreakpointCandidate, ttl: CacheTtl): PlacedBreakpoint {
  return { ...candidate, unit: 0, ttl };
}

describe('choosing a TTL from reuse gaps', () => {
  it('caches for 5 minutes until there is evidence', () => {
    expect(chooseTtl([], SONNET)).toBe('5m');
    expect(chooseTtl([3 * 60 * MINUTE, 3 * 60 * MINUTE], SONNET)).toBe('5m');
  });

  it('keeps 5 minutes for busy prefixes', () => {
    expect(chooseTtl([30_000, 45_000, 10_000, 60_000], SONNET)).toBe('5m');
  });

  it('moves to 1 hour when reuse is slower than 5 minutes but steady', () => {
    expect(chooseTtl([10 * MINUTE, 12 * MINUTE, 9 * MINUTE, 20 * MINUTE], SONNET)).toBe('1h');
  });

  it('stops caching where no TTL pays back', () => {
    expect(chooseTtl([2 * 60 * MINUTE, 3 * 60 * MINUTE, 90 * MINUTE], SONNET)).toBeNull();
    // Steady 10-minute reuse, but the model has no 1-hour cache: every 5-minute write would be wasted.
    expect(chooseTtl([10 * MINUTE, 10 * MINUTE, 10 * MINUTE], NO_ONE_HOUR)).toBeNull();
    // Conversations that never continue.
    expect(chooseTtl([Infinity, Infinity, Infinity], SONNET)).toBeNull();
  });

  it('weighs a mix exactly: half the requests within 5 minutes still pays for 5-minute writes', () => {
    // 5m: 0.5 × 0.10 + 0.5 × 2.50 = 1.30 < 2.00 (no cache); 1h: 0.5 × 0.10 + 0.5 × 4 = 2.05.
    expect(chooseTtl([MINUTE, 3 * 60 * MINUTE, MINUTE, 3 * 60 * MINUTE], SONNET)).toBe('5m');
    // A quarter within 5 minutes: 0.25 × 0.10 + 0.75 × 2.50 = 1.90 < 2.00, still (narrowly) worth it.
    expect(chooseTtl([MINUTE, 3 * 60 * MINUTE, 3 * 60 * MINUTE, 3 * 60 * MINUTE], SONNET)).toBe('5m');
    // A fifth: 0.2 × 0.10 + 0.8 × 2.50 = 2.02 > 2.00.
    expect(chooseTtl([MINUTE, 3 * 60 * MINUTE, 3 * 60 * MINUTE, 3 * 60 * MINUTE, 3 * 60 * MINUTE], SONNET)).toBeNull();
  });

  it('counts the reads a write needs to recover its premium', () => {
    // 5m: premium 0.50, each read saves 1.90 → 1 read. 1h: premium 2.00 → 2 reads.
    expect(readsToPayBack(SONNET, '5m')).toBe(1);
    expect(readsToPayBack(SONNET, '1h')).toBe(2);
    expect(readsToPayBack({ ...SONNET, cachedInput: SONNET.input }, '5m')).toBe(Infinity);
  });
});

describe('tracking cache writes per key and prefix', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let ledger: LedgerWriter;
  let returns: PromptCacheReturns;
  let now = T0;

  beforeEach(async () => {
    database = await createTestDatabase();
    ledger = new LedgerWriter(database.db, silentLogger, new Metrics(), { flushIntervalMs: 60_000, maxBatch: 100, defer: () => {} });
    returns = new PromptCacheReturns(database.db, 'writer_test');
    returns.attach(ledger, () => now);
    now = T0;
  });

  afterEach(async () => {
    await ledger.close();
    database.cleanup();
  });

  async function persisted() {
    // Counters ride on a ledger batch: write one event to carry them.
    ledger.add(ledgerEvent(now - T0));
    await ledger.flush();
    return database.db.select().from(promptCacheReturns).orderBy(promptCacheReturns.hour);
  }

  it('counts a write read before it expires as paid back', async () => {
    expect(returns.decide(owner, prefix, SONNET, now)).toBe('5m');
    returns.settle(owner, [placed(prefix, '5m')], 5020, usage(0, 5000), SONNET, now);
    now += 2 * MINUTE;
    expect(returns.decide(owner, prefix, SONNET, now)).toBe('5m');
    returns.settle(owner, [placed(prefix, '5m')], 5020, usage(5000, 0), SONNET, now);
    expect(await persisted()).toMatchObject([{ keyId: 'key_a', team: 'search', prefixHash: 'p1', model: 'claude-sonnet-5-5', hour: T0, writes: 1, reads: 1, paidBack: 1, unpaid: 0, unread: 0 }]);
  });

  it('counts a write that expires unread as waste, and stops placing after a streak of them', async () => {
    for (let i = 0; i < UNREAD_STREAK; i++) {
      // Requests 4 minutes apart predict reads, but the provider never reports any.
      expect(returns.decide(owner, prefix, NO_ONE_HOUR, now)).toBe('5m');
      returns.settle(owner, [placed(prefix, '5m')], 5020, usage(0, 5000), NO_ONE_HOUR, now);
      now += 4 * MINUTE;
    }
    now += TTL_MS['5m'];
    expect(returns.decide(owner, prefix, NO_ONE_HOUR, now)).toBeNull();
    const [row] = await persisted();
    expect(row).toMatchObject({ writes: UNREAD_STREAK, reads: 0, paidBack: 0, unpaid: UNREAD_STREAK, unread: UNREAD_STREAK });
    // An hour later it is tried again.
    now += 61 * MINUTE;
    expect(returns.decide(owner, prefix, NO_ONE_HOUR, now)).not.toBeNull();
  });

  it('switches a steadily reused prefix to the 1-hour cache, whose writes need two reads to pay back', async () => {
    const decisions: Array<CacheTtl | null> = [];
    for (let i = 0; i < 4; i++) {
      decisions.push(returns.decide(owner, prefix, SONNET, now));
      now += 10 * MINUTE;
    }
    expect(decisions).toEqual(['5m', '5m', '5m', '1h']);
    now -= 10 * MINUTE;
    returns.settle(owner, [placed(prefix, '1h')], 5020, usage(0, 5000), SONNET, now);
    for (let i = 0; i < 2; i++) {
      now += 10 * MINUTE;
      expect(returns.decide(owner, prefix, SONNET, now)).toBe('1h');
      returns.settle(owner, [placed(prefix, '1h')], 5020, usage(5000, 0), SONNET, now);
    }
    const rows = await persisted();
    const totals = rows.reduce((sum, r) => ({ writes1h: sum.writes1h + r.writes1h, reads: sum.reads + r.reads, paidBack: sum.paidBack + r.paidBack }), { writes1h: 0, reads: 0, paidBack: 0 });
    expect(totals).toEqual({ writes1h: 1, reads: 2, paidBack: 1 });
  });

  it('follows conversation history: a turn written by one request is read by the next', async () => {
    const turn1: BreakpointCandidate = { slot: 'turn', hash: 't1', tokens: 5200 };
    const turn2: BreakpointCandidate = { slot: 'turn', hash: 't2', tokens: 5400 };
    returns.decide(owner, prefix, SONNET, now);
    returns.decide(owner, turn1, SONNET, now);
    returns.settle(owner, [placed(prefix, '5m'), placed(turn1, '5m')], 5250, usage(5000, 200), SONNET, now);
    now += MINUTE;
    returns.decide(owner, prefix, SONNET, now);
    returns.decide(owner, turn2, SONNET, now);
    returns.decide(owner, turn1, SONNET, now);
    returns.settle(owner, [placed(prefix, '5m'), placed(turn1, '5m'), placed(turn2, '5m')], 5450, usage(5200, 200), SONNET, now);
    const rows = await persisted();
    const turns = rows.find((r) => r.prefixHash === 'turns');
    expect(turns).toMatchObject({ writes: 2, reads: 1, paidBack: 1 });
  });

  it('counts once when the ledger batch carrying the counts is retried after an ambiguous failure', async () => {
    const failures = { count: 1, afterCommit: true };
    const retried = new LedgerWriter(flaky(database.db, failures), silentLogger, new Metrics(), { flushIntervalMs: 60_000, maxBatch: 100, defer: () => {} });
    const tracker = new PromptCacheReturns(database.db, 'writer_retry');
    tracker.attach(retried, () => now);
    tracker.decide(owner, prefix, SONNET, now);
    tracker.settle(owner, [placed(prefix, '5m')], 5020, usage(0, 5000), SONNET, now);
    retried.add(ledgerEvent(1));
    await retried.flush();
    expect(failures.count).toBe(0);
    now += MINUTE;
    tracker.decide(owner, prefix, SONNET, now);
    tracker.settle(owner, [placed(prefix, '5m')], 5020, usage(5000, 0), SONNET, now);
    retried.add(ledgerEvent(2));
    await retried.flush();
    await retried.close();
    const rows = await database.db.select().from(promptCacheReturns);
    expect(rows).toMatchObject([{ writer: expect.stringMatching(/^writer_retry\./), writes: 1, reads: 1, paidBack: 1 }]);
  });

  it('scales its token estimates to the reported prompt before matching reads and writes', () => {
    // Estimates are 25% high; the provider read 4,000 of 4,016 tokens.
    returns.decide(owner, prefix, SONNET, now);
    returns.settle(owner, [placed(prefix, '5m')], 5020, usage(0, 4000, 16), SONNET, now);
    now += MINUTE;
    returns.decide(owner, prefix, SONNET, now);
    returns.settle(owner, [placed(prefix, '5m')], 5020, usage(4000, 0, 16), SONNET, now);
    return persisted().then((rows) => expect(rows[0]).toMatchObject({ writes: 1, reads: 1, paidBack: 1 }));
  });
});
