import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Native from 'libsql';
import { openDatabase, type Database } from '../../src/db/client';
import { applyMigrations } from '../../src/db/migrate';
import { silentLogger } from '../../src/deps';
import { localDatabasePath, openLedgerCommitter, type LedgerCommitter } from '../../src/entry/node-ledger-commit';
import { LedgerWriter } from '../../src/ledger/writer';
import { Metrics } from '../../src/ops/metrics';
import { rollupFlushHook } from '../../src/reports/rollups';
import { ledgerEvent } from '../helpers/ledger';

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

  it('a write on the gateway’s connection while a batch holds the lock waits on a timer and lands after it', async () => {
    const order: string[] = [];
    const batch = committer.commit([slowInsert('batch-1'), slowInsert('batch-2'), slowInsert('batch-3')]).then(() => order.push('batch'));
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
  });

  it('waits for another process’s write lock without blocking the event loop', async () => {
    const other = new Native(path);
    other.exec('BEGIN IMMEDIATE');
    // The lock is released by a timer: it can only fire if neither wait sleeps on the event loop.
    setTimeout(() => other.exec('COMMIT'), 30);
    try {
      await Promise.all([committer.commit([insert('committer-after-lock')]), database.client.execute(insert('gateway-after-lock'))]);
    } finally {
      if (other.inTransaction) other.exec('ROLLBACK');
      other.close();
    }
    expect(await scalar(`SELECT count(*) FROM settings WHERE name IN ('committer-after-lock', 'gateway-after-lock')`)).toBe(2);
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
