import { createClient, type Client } from '@libsql/client';
import { drizzle, type LibSQLDatabase } from 'drizzle-orm/libsql';
import * as schema from './schema';

/** The typed database; `$client` is the underlying libSQL client, for plain-SQL batches. */
export type Db = LibSQLDatabase<typeof schema> & { $client: Client };

export interface Database {
  db: Db;
  client: Client;
  close(): void;
}

/** How long a local write keeps trying while another connection holds the write lock (the ledger's committer, another process). */
export const BUSY_TIMEOUT_MS = 5000;
const MAX_RETRY_DELAY_MS = 20;

/** SQLite's "database is locked": another connection holds the write lock (SQLITE_BUSY and its extended codes). */
export function isBusy(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, rawCode } = error as { code?: unknown; rawCode?: unknown };
  return code === 'SQLITE_BUSY' || (typeof rawCode === 'number' && (rawCode & 0xff) === 5);
}

/**
 * Runs `attempt` again, after a timer, for as long as it fails because the database is locked,
 * up to `timeoutMs` of waiting. Local connections have no busy timeout of their own: SQLite's busy
 * handler sleeps on the calling thread, which for a synchronous local driver is the event loop, and
 * the lock's holder may be this process's own ledger committer, which can only finish on that loop.
 * Only whole units are retried (a statement, a batch, a transaction's BEGIN): a locked database
 * fails them before they change anything.
 */
export async function retryWhileBusy<T>(attempt: () => Promise<T>, timeoutMs = BUSY_TIMEOUT_MS): Promise<T> {
  for (let waited = 0, delay = 1; ; waited += delay, delay = Math.min(delay * 2, MAX_RETRY_DELAY_MS)) {
    try {
      return await attempt();
    } catch (error) {
      if (!isBusy(error) || waited >= timeoutMs) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/** The client's whole-unit calls, retried while the database is locked. */
const RETRIED = new Set<PropertyKey>(['execute', 'batch', 'migrate', 'transaction']);

function retryingWhileBusy(client: Client): Client {
  return new Proxy(client, {
    // Everything runs against the client itself: its private fields are not reachable through the proxy.
    get(target, property) {
      const value = Reflect.get(target, property, target) as unknown;
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      if (!RETRIED.has(property)) return method.bind(target);
      return (...args: unknown[]) => retryWhileBusy(async () => method.apply(target, args));
    },
  });
}

/**
 * Opens the libSQL database. A local file gets WAL (readers never block the ledger writer) and
 * writes that wait for a lock off the event loop (`retryWhileBusy`), so the ledger's committer and
 * other processes can share it; a remote URL (libsql://, https://) is used as is.
 */
export async function openDatabase(url: string, authToken?: string): Promise<Database> {
  const local = url.startsWith('file:');
  const opened = createClient({ url, ...(authToken === undefined ? {} : { authToken }), ...(local ? { timeout: 0 } : {}) });
  const client = local ? retryingWhileBusy(opened) : opened;
  if (local) {
    await client.execute('PRAGMA journal_mode = WAL');
    await client.execute('PRAGMA synchronous = NORMAL');
  }
  return { db: drizzle(client, { schema }), client, close: () => client.close() };
}
