import type { InStatement } from '@libsql/client';
import { BUSY_TIMEOUT_MS } from '../db/client';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * Ledger batches committed by a worker thread with its own connection to the local libSQL file.
 *
 * A local file commits synchronously: on the event loop a batch of 100 events (their rows and
 * the rollups written with them) held every request for about 8 ms, and 5 ms of that was
 * preparing the same statements again (the rollup statement is 40 KB of SQL; @libsql/client
 * prepares every statement it runs). The worker keeps its prepared statements, so a batch costs
 * about a third, and it runs on another core while requests go on. WAL lets the gateway's own
 * connection read and write beside it (the busy timeout covers the rare overlapping write).
 */
export interface LedgerCommitWorker {
  /** Runs the statements as one write transaction (BEGIN IMMEDIATE ... COMMIT); rejects with the database's error after rolling back. */
  commit(statements: readonly InStatement[]): Promise<void>;
  close(): Promise<void>;
}

/** Prepared statements kept per connection: full batches reuse a handful; partial batches vary in row count. */
const STATEMENT_CACHE_SIZE = 128;

const WORKER_HEAP_LIMITS = { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 64 };

// CommonJS, evaluated in the worker: it must not depend on the gateway's bundle or loader.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.libsqlPath);
const db = new Database(workerData.path, { timeout: workerData.busyTimeoutMs });
db.exec('PRAGMA synchronous = NORMAL');
const cache = new Map();
function prepared(sql) {
  let statement = cache.get(sql);
  if (statement) {
    cache.delete(sql);
  } else {
    statement = db.prepare(sql);
    if (cache.size >= ${STATEMENT_CACHE_SIZE}) cache.delete(cache.keys().next().value);
  }
  cache.set(sql, statement);
  return statement;
}
const bindable = (value) => (typeof value === 'boolean' ? (value ? 1 : 0) : value);
parentPort.on('message', ({ id, statements }) => {
  try {
    prepared('BEGIN IMMEDIATE').run();
    for (const { sql, args } of statements) prepared(sql).run((args ?? []).map(bindable));
    prepared('COMMIT').run();
    parentPort.postMessage({ id });
  } catch (error) {
    try {
      if (db.inTransaction) db.exec('ROLLBACK');
    } catch {}
    parentPort.postMessage({ id, error: { message: String(error && error.message), code: error && error.code } });
  }
});
`;

interface Reply {
  id: number;
  error?: { message: string; code?: string };
}

/** The file a `file:` URL names (its options cut off), or undefined for a remote or in-memory database. */
export function localDatabasePath(url: string): string | undefined {
  if (!url.startsWith('file:')) return undefined;
  const bare = url.split('?')[0]!;
  const path = bare.startsWith('file://') ? fileURLToPath(bare) : bare.slice('file:'.length);
  return path && path !== ':memory:' ? path : undefined;
}

export function startLedgerCommitWorker(path: string): LedgerCommitWorker {
  const libsqlPath = createRequire(import.meta.url).resolve('libsql');
  const waiting = new Map<number, { resolve(): void; reject(error: Error): void }>();
  let nextId = 0;
  let worker: Worker | undefined;

  const failAll = (error: Error): void => {
    for (const pending of waiting.values()) pending.reject(error);
    waiting.clear();
    worker = undefined;
  };
  const spawn = (): Worker => {
    const started = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { path, libsqlPath, busyTimeoutMs: BUSY_TIMEOUT_MS },
      // Its heap only ever holds one batch's statements: V8's defaults would reserve tens of MB.
      resourceLimits: WORKER_HEAP_LIMITS,
    });
    started.unref();
    started.on('message', (reply: Reply) => {
      const pending = waiting.get(reply.id);
      if (!pending) return;
      waiting.delete(reply.id);
      if (!reply.error) return pending.resolve();
      const error = new Error(reply.error.message) as Error & { code?: string };
      if (reply.error.code) error.code = reply.error.code;
      pending.reject(error);
    });
    // A crashed worker fails what it held (the ledger retries those batches) and is started again on the next commit.
    started.on('error', (error) => {
      if (worker === started) failAll(error);
    });
    started.on('exit', (code) => {
      if (worker === started) failAll(new Error(`ledger commit worker exited (${code})`));
    });
    return started;
  };

  return {
    commit(statements) {
      worker ??= spawn();
      const id = nextId++;
      const target = worker;
      return new Promise<void>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        target.postMessage({ id, statements });
      });
    },
    async close() {
      const stopping = worker;
      worker = undefined;
      if (stopping) await stopping.terminate();
      failAll(new Error('ledger commit worker closed'));
    },
  };
}
