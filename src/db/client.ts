import { createClient, type Client } from '@libsql/client';
import { drizzle, type LibSQLDatabase } from 'drizzle-orm/libsql';
import * as schema from './schema';

/** The typed database; `$client` is the underlying libSQL client, for plain-SQL batches. */
export type Db = LibSQLDatabase<typeof schema> & { $client: Client };

export interface Database {
  db: Db;
  client: Client;
  /**
   * Runs `work`, a write transaction on another connection to the same local file (the ledger's
   * committer), while this client writes nothing: the client's writes wait for it, and it for them.
   * Off a local file it just runs `work`.
   */
  exclusive<T>(work: () => Promise<T>): Promise<T>;
  close(): void;
}

/** How long a local write waits while another process holds the write lock (SQLite's busy timeout). */
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
 * up to `timeoutMs` of waiting: a wait that leaves the event loop free, where SQLite's busy handler
 * would sleep on it (a synchronous local driver runs on the loop). `attempt` must run the same
 * prepared statement each time, on a connection with no busy timeout: libsql does not reset a
 * statement that failed with SQLITE_BUSY, and until it is reset or garbage-collected its connection
 * keeps a transaction open; running it again resets it.
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

/** Work that writes to the local file, one at a time, in the order it was asked for. */
class WriteTurns {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/** The client's calls that may write. A plain SELECT is not one: under WAL readers never wait for a writer. */
const WRITING = new Set<PropertyKey>(['execute', 'batch', 'migrate', 'executeMultiple']);
const SELECT = /^\s*select\b/i;

function mayWrite(property: PropertyKey, args: readonly unknown[]): boolean {
  if (!WRITING.has(property)) return false;
  if (property === 'batch') return args[1] !== 'read';
  if (property !== 'execute') return true;
  const statement = args[0] as string | { sql: string };
  return !SELECT.test(typeof statement === 'string' ? statement : statement.sql);
}

/**
 * The client with its writes taking turns with `exclusive` work. This process's writers so never
 * meet each other's lock in SQLite, where a wait would either sleep on the event loop (the busy
 * handler; the ledger's committer, which holds its lock across turns of the loop, could then never
 * finish) or be a retry, which libsql cannot do safely: a statement that fails with SQLITE_BUSY is
 * not reset, and the writes its connection makes afterwards stay uncommitted, holding the lock,
 * until that statement is garbage-collected.
 */
function takingTurns(client: Client, turns: WriteTurns): Client {
  return new Proxy(client, {
    // Everything runs against the client itself: its private fields are not reachable through the proxy.
    get(target, property) {
      const value = Reflect.get(target, property, target) as unknown;
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      if (property === 'transaction') {
        return () => Promise.reject(new Error('Interactive transactions are not used on a local database: its writes take turns with the ledger’s committer; use batch().'));
      }
      if (!WRITING.has(property)) return method.bind(target);
      const write = async (args: unknown[]): Promise<unknown> => {
        try {
          return await method.apply(target, args);
        } catch (error) {
          // Another process held the lock past the busy timeout. The statement that gave up stays
          // unreset on its connection (see above), so the connections are replaced before any
          // later write can land on it.
          if (isBusy(error)) target.reconnect();
          throw error;
        }
      };
      return (...args: unknown[]) => (mayWrite(property, args) ? turns.run(() => write(args)) : method.apply(target, args));
    },
  });
}

/**
 * Opens the libSQL database. A local file gets WAL (readers never block the ledger writer), and
 * its writes take turns with `exclusive` work; a remote URL (libsql://, https://) is used as is.
 */
export async function openDatabase(url: string, authToken?: string, busyTimeoutMs = BUSY_TIMEOUT_MS): Promise<Database> {
  const local = url.startsWith('file:');
  const opened = createClient({ url, ...(authToken === undefined ? {} : { authToken }), ...(local ? { timeout: busyTimeoutMs } : {}) });
  const turns = new WriteTurns();
  const client = local ? takingTurns(opened, turns) : opened;
  if (local) {
    await client.execute('PRAGMA journal_mode = WAL');
    await client.execute('PRAGMA synchronous = NORMAL');
  }
  return {
    db: drizzle(client, { schema }),
    client,
    exclusive: local ? (work) => turns.run(work) : (work) => work(),
    close: () => client.close(),
  };
}
