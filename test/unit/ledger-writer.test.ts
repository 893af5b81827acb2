import type { InStatement } from '@libsql/client';
import { count } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/deps';
import { usageEvents } from '../../src/ledger/schema';
import { LedgerWriter } from '../../src/ledger/writer';
import { Metrics } from '../../src/ops/metrics';
import { createTestDatabase, flaky } from '../helpers/db';
import { ledgerEvent as event } from '../helpers/ledger';



describe('LedgerWriter', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  const deferred: Promise<unknown>[] = [];
  beforeEach(async () => {
    database = await createTestDatabase();
  });
  afterEach(async () => {
    await Promise.allSettled(deferred);
    database.cleanup();
  });

  async function rows(): Promise<number> {
    const [row] = await database.db.select({ n: count() }).from(usageEvents);
    return row?.n ?? 0;
  }

  it('writes every event in batches and flushes the rest on close', async () => {
    const metrics = new Metrics();
    const writer = new LedgerWriter(database.db, silentLogger, metrics, { flushIntervalMs: 10_000, maxBatch: 100, defer: (p) => deferred.push(p) });
    for (let i = 0; i < 1234; i++) writer.add(event(i));
    await writer.close();
    expect(await rows()).toBe(1234);
    expect(writer.depth).toBe(0);
  });

  it('commits a full batch on the next turn of the event loop, not inside the add that filled it', async () => {
    let committed = 0;
    // A synchronous commit, as the Node committer's is for a local file.
    const commit = (statements: InStatement[]) => {
      committed += statements.length;
      return Promise.resolve();
    };
    const writer = new LedgerWriter(database.db, silentLogger, new Metrics(), { flushIntervalMs: 10_000, maxBatch: 10, defer: (p) => deferred.push(p), commit });
    for (let i = 0; i < 10; i++) writer.add(event(i));
    expect(committed).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(committed).toBeGreaterThan(0);
    expect(writer.depth).toBe(0);
    await writer.close();
  });

  it('lets the event loop run between the batches of a backlog', async () => {
    const writer = new LedgerWriter(database.db, silentLogger, new Metrics(), { flushIntervalMs: 10_000, maxBatch: 10, defer: (p) => deferred.push(p) });
    for (let i = 0; i < 35; i++) writer.add(event(i));
    const depthsSeenByTimers: number[] = [];
    const timer = setInterval(() => depthsSeenByTimers.push(writer.depth), 0);
    await writer.flush();
    clearInterval(timer);
    expect(depthsSeenByTimers.some((depth) => depth > 0)).toBe(true);
    await writer.close();
    expect(await rows()).toBe(35);
  });

  /** A commit whose first call waits for the test, as a local commit gives the event loop turns. */
  function firstCommitHeld(): { commit: () => Promise<void>; started: Promise<void>; releaseFirst: () => void } {
    let commits = 0;
    let firstStarted!: () => void;
    const started = new Promise<void>((resolve) => (firstStarted = resolve));
    let releaseFirst!: () => void;
    const released = new Promise<void>((resolve) => (releaseFirst = resolve));
    const commit = async () => {
      commits++;
      if (commits === 1) {
        firstStarted();
        await released;
      }
    };
    return { commit, started, releaseFirst };
  }

  it('leaves events that arrive during a commit to their own trigger, not an immediate tiny batch', async () => {
    const { commit, started, releaseFirst } = firstCommitHeld();
    const writer = new LedgerWriter(database.db, silentLogger, new Metrics(), { flushIntervalMs: 50, maxBatch: 10, defer: (p) => deferred.push(p), commit });
    const batches: number[] = [];
    writer.onCommit((events) => batches.push(events.length));
    for (let i = 0; i < 10; i++) writer.add(event(i));
    const flushed = writer.flush();
    await started;
    for (let i = 10; i < 13; i++) writer.add(event(i));
    releaseFirst();
    await flushed;
    expect(batches).toEqual([10]);
    expect(writer.depth).toBe(3);
    // The three go with the interval.
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(batches).toEqual([10, 3]);
    await writer.close();
  });

  it('a flush called while another is under way resolves once the events buffered at the call are committed', async () => {
    const { commit, started, releaseFirst } = firstCommitHeld();
    const writer = new LedgerWriter(database.db, silentLogger, new Metrics(), { flushIntervalMs: 10_000, maxBatch: 100, defer: (p) => deferred.push(p), commit });
    const batches: number[] = [];
    writer.onCommit((events) => batches.push(events.length));
    for (let i = 0; i < 3; i++) writer.add(event(i));
    const first = writer.flush();
    await started;
    for (let i = 3; i < 5; i++) writer.add(event(i));
    const second = writer.flush();
    // Callers during the same flush share the one after it.
    expect(writer.flush()).toBe(second);
    releaseFirst();
    await first;
    expect(batches).toEqual([3]);
    await second;
    expect(batches).toEqual([3, 2]);
    expect(writer.depth).toBe(0);
    await writer.close();
  });

  it('schedules nothing per event while a commit is under way, and writes the full batches behind it in the same flush', async () => {
    const { commit, started, releaseFirst } = firstCommitHeld();
    let scheduled = 0;
    const defer = (promise: Promise<unknown>) => {
      scheduled++;
      deferred.push(promise);
    };
    const writer = new LedgerWriter(database.db, silentLogger, new Metrics(), { flushIntervalMs: 10_000, maxBatch: 10, defer, commit });
    const batches: number[] = [];
    writer.onCommit((events) => batches.push(events.length));
    for (let i = 0; i < 10; i++) writer.add(event(i));
    await started;
    const before = scheduled;
    // The buffer holds the batch being committed, so every one of these finds it full; each comes
    // in a turn of its own, as requests' events do.
    for (let i = 10; i < 35; i++) {
      writer.add(event(i));
      await new Promise((resolve) => setImmediate(resolve));
    }
    // At most the interval's timer, not a flush per event.
    expect(scheduled - before).toBeLessThanOrEqual(1);
    releaseFirst();
    // The flush under way, not a new one: the remainder waits for its own trigger.
    await vi.waitFor(() => expect(batches).toEqual([10, 10, 10]));
    expect(writer.depth).toBe(5);
    await writer.close();
    expect(batches).toEqual([10, 10, 10, 5]);
  });

  it('retries a failed flush without losing an event', async () => {
    const metrics = new Metrics();
    const writer = new LedgerWriter(flaky(database.db, { count: 2 }), silentLogger, metrics, { flushIntervalMs: 5, maxBatch: 50, defer: (p) => deferred.push(p) });
    for (let i = 0; i < 120; i++) writer.add(event(i));
    await writer.flush();
    expect(writer.depth).toBe(120);
    await writer.close();
    expect(await rows()).toBe(120);
    expect(metrics.render()).toMatch(/sluice_ledger_flush_failures_total 2/);
  });

  it('does not duplicate an event when a flush committed but reported failure', async () => {
    const writer = new LedgerWriter(flaky(database.db, { count: 1, afterCommit: true }), silentLogger, new Metrics(), {
      flushIntervalMs: 5,
      maxBatch: 500,
      defer: (p) => deferred.push(p),
    });
    for (let i = 0; i < 30; i++) writer.add(event(i));
    await writer.close();
    expect(await rows()).toBe(30);
  });

  it('hands hooks only the events a committed-but-failed flush did not write', async () => {
    const writer = new LedgerWriter(flaky(database.db, { count: 1, afterCommit: true }), silentLogger, new Metrics(), {
      flushIntervalMs: 5,
      maxBatch: 20,
      defer: (p) => deferred.push(p),
    });
    const seen: string[] = [];
    writer.addFlushHook((events) => {
      seen.push(...events.map((e) => e.id));
      return [];
    });
    for (let i = 0; i < 12; i++) writer.add(event(i));
    await writer.flush();
    for (let i = 12; i < 30; i++) writer.add(event(i));
    await writer.close();
    expect(await rows()).toBe(30);
    expect(seen).toHaveLength(30);
    expect(new Set(seen).size).toBe(30);
  });

  it('runs flush hooks in the same transaction as the events', async () => {
    const writer = new LedgerWriter(database.db, silentLogger, new Metrics(), { flushIntervalMs: 5, maxBatch: 10, defer: (p) => deferred.push(p) });
    // A hook whose statement fails must take the events down with it: nothing half-written.
    let fail = true;
    writer.addFlushHook(() => (fail ? [{ toSQL: () => ({ sql: 'INSERT INTO no_such_table VALUES (1)', params: [] }) }] : []));
    for (let i = 0; i < 5; i++) writer.add(event(i));
    await writer.flush();
    expect(await rows()).toBe(0);
    fail = false;
    await writer.close();
    expect(await rows()).toBe(5);
  });

  it('stores every column as given', async () => {
    const writer = new LedgerWriter(database.db, silentLogger, new Metrics(), { flushIntervalMs: 5, maxBatch: 10, defer: (p) => deferred.push(p) });
    const original = { ...event(42), stream: true, usageEstimated: true, complexity: 0.625, ttftMs: 17, errorType: 'x' };
    writer.add(original);
    await writer.close();
    const [stored] = await database.db.select().from(usageEvents);
    expect(stored).toEqual(original);
  });

  it('tells commit listeners exactly which events were committed', async () => {
    const seen: string[] = [];
    const writer = new LedgerWriter(database.db, silentLogger, new Metrics(), { flushIntervalMs: 5, maxBatch: 7, defer: (p) => deferred.push(p) });
    writer.onCommit((events) => seen.push(...events.map((e) => e.id)));
    for (let i = 0; i < 20; i++) writer.add(event(i));
    await writer.close();
    expect(seen).toHaveLength(20);
    expect(new Set(seen).size).toBe(20);
  });

  it('runs a betweenCommits read after the commit in flight and its listeners, and holds the next commit until the read is done', async () => {
    const order: string[] = [];
    let releaseCommit!: () => void;
    const commitGate = new Promise<void>((resolve) => (releaseCommit = resolve));
    const writer = new LedgerWriter(database.db, silentLogger, new Metrics(), {
      flushIntervalMs: 10_000,
      maxBatch: 1,
      defer: (p) => deferred.push(p),
      // A commit that settles late: the batch is in the database before its listeners hear of it.
      commit: async (statements) => {
        await database.db.$client.batch(statements, 'write');
        order.push('committed');
        await commitGate;
      },
    });
    writer.onCommit((events) => order.push(`listeners ${events[0]!.id}`));
    writer.add(event(1));
    const firstFlush = writer.flush();
    await new Promise((resolve) => setTimeout(resolve, 10));
    let releaseRead!: () => void;
    const readGate = new Promise<void>((resolve) => (releaseRead = resolve));
    const read = writer.betweenCommits(async () => {
      order.push(`read sees ${await rows()} row(s)`);
      await readGate;
      order.push('read done');
    });
    releaseCommit();
    await firstFlush;
    await new Promise((resolve) => setTimeout(resolve, 10));
    writer.add(event(2));
    const secondFlush = writer.flush();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(order).toEqual(['committed', `listeners ${event(1).id}`, 'read sees 1 row(s)']);
    releaseRead();
    await read;
    await secondFlush;
    expect(order).toEqual(['committed', `listeners ${event(1).id}`, 'read sees 1 row(s)', 'read done', 'committed', `listeners ${event(2).id}`]);
    await writer.close();
  });
});
