import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Native from 'libsql';
import { openDatabase, type Database } from '../../src/db/client';
import { RequestsInFlight } from '../../src/entry/node-requests';
import { applyMigrations } from '../../src/db/migrate';
import { silentLogger } from '../../src/deps';
import { localDatabasePath, openLedgerCommitter, pauseBetweenRequests, type LedgerCommitter } from '../../src/entry/node-ledger-commit';
import { LedgerWriter } from '../../src/ledger/writer';
import { Metrics } from '../../src/ops/metrics';
import { rollupFlushHook } from '../../src/reports/rollups';
import { ledgerEvent } from '../helpers/ledger';

const require = createRequire(import.meta.url);

describe('the ledger committer (Node, local file)', () => {
  let dir: string;
  let path: string;
  let database: Database;
  let committer: LedgerCommitter;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-ledger-committer-'));
    path = join(dir, 'sluice.db');
    database = await openDatabase(`file:${path}`);
    await applyMigrations(database.db);
    committer = openLedgerCommitter(path);
  });
  afterEach(async () => {
    committer.close();
    database.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const scalar = async (sql: string): Promise<number> => Number((await database.client.execute(sql)).rows[0]![0]);

  /** A statement that keeps SQLite busy for milliseconds (counts 50,000 generated rows). */
  const slowInsert = (name: string) => ({
    sql: `WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 50000) INSERT INTO settings (name, value, updated_at) SELECT ?, count(*), 1 FROM n`,
    args: [name],
  });
  const insert = (id: string) => ({ sql: `INSERT INTO settings (name, value, updated_at) VALUES (?, ?, ?)`, args: [id, '{}', 1] });

  it('commits the writer’s batches and their rollups, visible to the gateway’s own connection', async () => {
    const deferred: Promise<unknown>[] = [];
    const writer = new LedgerWriter(database.db, silentLogger, new Metrics(), {
      flushIntervalMs: 10_000,
      maxBatch: 100,
      defer: (promise) => deferred.push(promise),
      commit: (statements) => committer.commit(statements),
    });
    writer.addFlushHook(rollupFlushHook(database.db));
    for (let i = 0; i < 1234; i++) writer.add(ledgerEvent(i));
    await writer.close();
    await Promise.all(deferred);
    expect(await scalar('SELECT count(*) FROM usage_events')).toBe(1234);
    expect(await scalar('SELECT sum(cost_nusd) FROM usage_events')).toBe(1234 * 4500);
    // Every event is in the hourly rollups exactly once.
    expect(await scalar('SELECT sum(requests) FROM report_rollups WHERE span = (SELECT min(span) FROM report_rollups)')).toBe(1234);
  });

  it('rolls back a failing batch whole and reports the database’s error; the next batch commits', async () => {
    await expect(committer.commit([insert('first'), { sql: 'INSERT INTO no_such_table VALUES (1)', args: [] }])).rejects.toThrow(/no_such_table/);
    expect(await scalar(`SELECT count(*) FROM settings WHERE name = 'first'`)).toBe(0);
    await committer.commit([insert('second')]);
    expect(await scalar(`SELECT count(*) FROM settings WHERE name = 'second'`)).toBe(1);
  });

  it('commits batch after batch on one connection, and opens the file again after close', async () => {
    for (let i = 0; i < 300; i++) await committer.commit([insert(`row-${i}`)]);
    committer.close();
    await committer.commit([insert('after')]);
    expect(await scalar(`SELECT count(*) FROM settings WHERE name LIKE 'row-%' OR name = 'after'`)).toBe(301);
  });

  it('gives the event loop a turn between a batch’s slow statements, and commits them as one transaction', async () => {
    // Counts the event loop's check phases while the batch commits.
    let turns = 0;
    let committing = true;
    const countTurn = (): void => {
      if (!committing) return;
      turns++;
      setImmediate(countTurn);
    };
    setImmediate(countTurn);
    await committer.commit([slowInsert('slow-1'), slowInsert('slow-2'), slowInsert('slow-3'), slowInsert('slow-4'), slowInsert('slow-5')]);
    committing = false;
    // Each statement holds the loop for milliseconds, over the turn budget: a turn after each of the first four.
    expect(turns).toBeGreaterThanOrEqual(4);
    expect(await scalar(`SELECT count(*) FROM settings WHERE name LIKE 'slow-%' AND value = '50000'`)).toBe(5);
  });

  /** Whether a fresh connection sees the row and can take the write lock: nothing is left uncommitted. */
  const committedAndUnlocked = (name: string): { seen: number; lockable: boolean } => {
    const fresh = new Native(path, { timeout: 0 });
    try {
      const seen = Number((fresh.prepare('SELECT count(*) AS n FROM settings WHERE name = ?').get(name) as { n: number }).n);
      let lockable = true;
      try {
        fresh.exec('BEGIN IMMEDIATE');
        fresh.exec('ROLLBACK');
      } catch {
        lockable = false;
      }
      return { seen, lockable };
    } finally {
      fresh.close();
    }
  };

  it('a write on the gateway’s connection during a batch waits for it, then commits and leaves the lock free', async () => {
    const order: string[] = [];
    const batch = database.exclusive(() => committer.commit([slowInsert('batch-1'), slowInsert('batch-2'), slowInsert('batch-3')])).then(() => order.push('batch'));
    // Issued from a turn in the middle of the batch, when its transaction is open.
    const write = new Promise<void>((resolve, reject) => {
      setImmediate(() => {
        database.client.execute(insert('gateway-write')).then(() => {
          order.push('write');
          resolve();
        }, reject);
      });
    });
    await Promise.all([batch, write]);
    expect(order).toEqual(['batch', 'write']);
    expect(await scalar(`SELECT count(*) FROM settings WHERE name IN ('batch-1', 'batch-2', 'batch-3', 'gateway-write')`)).toBe(4);
    // Seen from outside: a write retried after SQLITE_BUSY on the same libsql connection stayed
    // uncommitted and held the lock (see takingTurns).
    expect(committedAndUnlocked('gateway-write')).toEqual({ seen: 1, lockable: true });
  });

  it('reads on the gateway’s connection do not wait for a batch', async () => {
    let reads = 0;
    let batchDone = false;
    // Watched from the start: a read that waited for the batch would find it done.
    const batch = database.exclusive(() => committer.commit([slowInsert('held-1'), slowInsert('held-2'), slowInsert('held-3')])).then(() => (batchDone = true));
    await new Promise((resolve) => setImmediate(resolve));
    await database.client.execute('SELECT count(*) FROM settings').then(() => reads++);
    await database.client.batch(['SELECT 1', 'SELECT 2'], 'read').then(() => reads++);
    expect({ reads, batchDone }).toEqual({ reads: 2, batchDone: false });
    await batch;
  });

  it('waits for another process’s write lock without blocking the event loop', async () => {
    const other = new Native(path);
    other.exec('BEGIN IMMEDIATE');
    // The lock is released by a timer: it can only fire if the wait does not sleep on the event loop.
    setTimeout(() => other.exec('COMMIT'), 30);
    try {
      await committer.commit([insert('committer-after-lock')]);
    } finally {
      if (other.inTransaction) other.exec('ROLLBACK');
      other.close();
    }
    expect(committedAndUnlocked('committer-after-lock')).toEqual({ seen: 1, lockable: true });
  });

  it('after a statement fails inside a batch, the next batch commits and leaves the lock free', async () => {
    // The second insert breaks the primary key: it fails while it runs, not while it is prepared.
    await expect(committer.commit([insert('duplicate'), insert('duplicate')])).rejects.toThrow(/UNIQUE/);
    await committer.commit([insert('after-the-failure')]);
    expect(committedAndUnlocked('after-the-failure')).toEqual({ seen: 1, lockable: true });
    expect(committedAndUnlocked('duplicate').seen).toBe(0);
  });

  it('the gateway’s connection waits for another process’s write lock, then commits', async () => {
    // Another process: this one's event loop sleeps in SQLite's busy handler while it waits.
    const holder = spawn(process.execPath, [
      '-e',
      `const D = require(${JSON.stringify(require.resolve('libsql'))}); const db = new D(${JSON.stringify(path)}); db.exec('BEGIN IMMEDIATE'); console.log('locked'); setTimeout(() => { db.exec('COMMIT'); db.close(); }, 300);`,
    ]);
    await new Promise<void>((resolve, reject) => {
      holder.stdout.once('data', () => resolve());
      holder.once('error', reject);
    });
    const started = performance.now();
    await database.client.execute(insert('gateway-after-other-process'));
    expect(performance.now() - started).toBeGreaterThan(100);
    await new Promise((resolve) => holder.once('exit', resolve));
    expect(committedAndUnlocked('gateway-after-other-process')).toEqual({ seen: 1, lockable: true });
  });

  it('after another process holds the lock past the busy timeout, the gateway’s next write commits and leaves the lock free', async () => {
    const impatient = await openDatabase(`file:${path}`, undefined, 100);
    const holder = spawn(process.execPath, [
      '-e',
      `const D = require(${JSON.stringify(require.resolve('libsql'))}); const db = new D(${JSON.stringify(path)}); db.exec('BEGIN IMMEDIATE'); console.log('locked'); setTimeout(() => { db.exec('COMMIT'); db.close(); }, 400);`,
    ]);
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout.once('data', () => resolve());
        holder.once('error', reject);
      });
      await expect(impatient.client.execute(insert('refused'))).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
      await new Promise((resolve) => holder.once('exit', resolve));
      await impatient.client.execute(insert('after-the-lock'));
      // Without new connections, this write would sit behind the refused statement, uncommitted.
      expect(committedAndUnlocked('after-the-lock')).toEqual({ seen: 1, lockable: true });
      expect(committedAndUnlocked('refused').seen).toBe(0);
    } finally {
      holder.kill();
      impatient.close();
    }
  });

  it('with the gateway’s pause, starts a batch and runs its slices only in a gap between requests', async () => {
    const requests = new RequestsInFlight();
    const patient = openLedgerCommitter(path, pauseBetweenRequests(requests, 60_000, () => false));
    try {
      requests.begin();
      let committed = false;
      const commit = patient.commit([insert('between-requests')]).then(() => (committed = true));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(committed).toBe(false);
      expect(await scalar(`SELECT count(*) FROM settings WHERE name = 'between-requests'`)).toBe(0);
      requests.end();
      await commit;
      expect(await scalar(`SELECT count(*) FROM settings WHERE name = 'between-requests'`)).toBe(1);

      // A request that arrives during a batch holds back the slices after the one running.
      const order: string[] = [];
      const batch = patient.commit([slowInsert('slice-1'), slowInsert('slice-2')]).then(() => order.push('batch'));
      setImmediate(() => {
        requests.begin();
        setTimeout(() => {
          order.push('request');
          requests.end();
        }, 30);
      });
      await batch;
      expect(order).toEqual(['request', 'batch']);
    } finally {
      patient.close();
    }
  });

  it('with the gateway’s pause, runs a batch in one stretch while the ledger is behind, requests in flight or not', async () => {
    const requests = new RequestsInFlight();
    let behind = true;
    const hurried = openLedgerCommitter(path, pauseBetweenRequests(requests, 60_000, () => behind));
    try {
      requests.begin();
      let turns = 0;
      const counting = setInterval(() => turns++, 0);
      await hurried.commit([slowInsert('behind-1'), slowInsert('behind-2'), slowInsert('behind-3')]);
      clearInterval(counting);
      expect(turns).toBe(0);
      expect(await scalar(`SELECT count(*) FROM settings WHERE name LIKE 'behind-%'`)).toBe(3);

      // Caught up, it waits for a gap again.
      behind = false;
      let committed = false;
      const commit = hurried.commit([insert('caught-up')]).then(() => (committed = true));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(committed).toBe(false);
      requests.end();
      await commit;
    } finally {
      hurried.close();
    }
  });

  it('binds named arguments, as the shared client does', async () => {
    await committer.commit([{ sql: `INSERT INTO settings (name, value, updated_at) VALUES (:name, :value, :at)`, args: { name: 'named', value: '{}', at: false } }]);
    expect((await database.client.execute(`SELECT updated_at FROM settings WHERE name = 'named'`)).rows[0]![0]).toBe(0);
  });

  it('binds booleans as integers, as the shared client does', async () => {
    await committer.commit([{ sql: `INSERT INTO settings (name, value, updated_at) VALUES (?, ?, ?)`, args: ['flag', '{}', true] }]);
    expect((await database.client.execute(`SELECT updated_at FROM settings WHERE name = 'flag'`)).rows[0]![0]).toBe(1);
  });
});

describe('localDatabasePath', () => {
  it('names the file of a local URL and nothing for remote or in-memory databases', () => {
    expect(localDatabasePath('file:./data/sluice.db')).toBe('./data/sluice.db');
    expect(localDatabasePath(pathToFileURL('/tmp/a b/s.db').href)).toBe('/tmp/a b/s.db');
    expect(localDatabasePath('file:/tmp/s.db?mode=ro')).toBe('/tmp/s.db');
    expect(localDatabasePath('file::memory:')).toBeUndefined();
    expect(localDatabasePath('libsql://db.example.turso.io')).toBeUndefined();
  });
});
