import type { InArgs, InStatement, InValue } from '@libsql/client';
import Database from 'libsql';
import { fileURLToPath } from 'node:url';
import { retryWhileBusy } from '../db/client';
import { nextTurn } from '../util/turns';
import type { RequestsInFlight } from './node-requests';

/**
 * Ledger batches committed through a native connection of their own to the local libSQL file,
 * which keeps its prepared statements.
 *
 * @libsql/client prepares every statement it runs: a batch of 100 events (their rows and the
 * rollups written with them; the rollup statement is 40 KB of SQL) held the event loop for about
 * 8 ms, 5 of them preparing the same statements again. With the statements kept, the batch takes
 * about 2 ms (`bench/ledger.ts` prints it). A worker thread did this before: it kept even that off
 * the event loop, but its second V8 isolate and malloc arena held ~30 MB more under load, and
 * copying each batch to it sustained 24k events/s against 41k here. WAL lets the gateway's own
 * connection read beside it.
 *
 * The batch's statements run in slices of about 0.5 ms, inside one transaction, with `pause` before
 * each: requests are served between them, not after the whole batch. The write lock is held across
 * those turns, so the gateway's own connection must not write meanwhile: it would wait for the lock
 * in SQLite's busy handler, asleep on the event loop this batch needs to finish. The gateway runs
 * commits as `Database.exclusive` work, which its connection's writes take turns with. When another
 * process holds the lock, this connection waits for it on a timer (`retryWhileBusy`).
 */
export interface LedgerCommitter {
  /** Runs the statements as one write transaction (BEGIN IMMEDIATE ... COMMIT); rejects with the database's error after rolling back. */
  commit(statements: readonly InStatement[]): Promise<void>;
  close(): void;
}

/** Prepared statements kept: full batches reuse a handful; partial batches vary in row count. */
const STATEMENT_CACHE_SIZE = 128;
/** Statements run back to back until they have held the event loop this long; then the loop gets a turn. */
const TURN_BUDGET_MS = 0.5;

/** The file a `file:` URL names (its options cut off), or undefined for a remote or in-memory database. */
export function localDatabasePath(url: string): string | undefined {
  if (!url.startsWith('file:')) return undefined;
  const bare = url.split('?')[0]!;
  const path = bare.startsWith('file://') ? fileURLToPath(bare) : bare.slice('file:'.length);
  return path && path !== ':memory:' ? path : undefined;
}

const bindable = (value: InValue): unknown => (typeof value === 'boolean' ? (value ? 1 : 0) : value);

/** Statement arguments bound as @libsql/client binds them: positional or named, booleans as integers. */
function bound(args: InArgs | undefined): unknown[] | Record<string, unknown> {
  if (args === undefined) return [];
  if (Array.isArray(args)) return args.map(bindable);
  return Object.fromEntries(Object.entries(args).map(([name, value]) => [name, bindable(value)]));
}

/**
 * The gateway's pause: a gap between requests, waited for at most `maxWaitMs`; none while the
 * ledger is `behind`, so that a batch then runs in one stretch and requests are served between
 * batches (the writer gives the event loop a turn there). Gaps hold the ledger to about a slice per
 * `maxWaitMs` under sustained load, which with many principals is less than it needs.
 */
export function pauseBetweenRequests(requests: RequestsInFlight, maxWaitMs: number, behind: () => boolean): () => Promise<void> {
  return () => (behind() ? Promise.resolve() : requests.gap(maxWaitMs));
}

/**
 * `pause` is awaited before a batch and between its slices; by default it is one turn of the event
 * loop. The gateway waits for a gap between requests (pauseBetweenRequests).
 */
export function openLedgerCommitter(path: string, pause: () => Promise<void> = nextTurn): LedgerCommitter {
  let database: Database.Database | undefined;
  const cache = new Map<string, Database.Statement>();
  const connection = (): Database.Database => {
    if (!database) {
      database = new Database(path, { timeout: 0 });
      database.exec('PRAGMA synchronous = NORMAL');
    }
    return database;
  };
  // Least recently used out first: a Map iterates in insertion order, and a hit is re-inserted.
  const prepared = (db: Database.Database, sql: string): Database.Statement => {
    let statement = cache.get(sql);
    if (statement) {
      cache.delete(sql);
    } else {
      statement = db.prepare(sql);
      if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
    }
    cache.set(sql, statement);
    return statement;
  };
  return {
    async commit(statements) {
      const db = connection();
      await pause();
      await retryWhileBusy(async () => prepared(db, 'BEGIN IMMEDIATE').run());
      try {
        let turnStart = performance.now();
        for (const statement of statements) {
          if (performance.now() - turnStart >= TURN_BUDGET_MS) {
            await pause();
            turnStart = performance.now();
          }
          if (typeof statement === 'string') prepared(db, statement).run();
          else prepared(db, statement.sql).run(bound(statement.args));
        }
        prepared(db, 'COMMIT').run();
      } catch (error) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw error;
      }
    },
    close() {
      cache.clear();
      database?.close();
      database = undefined;
    },
  };
}
