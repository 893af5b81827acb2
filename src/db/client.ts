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

/** How long a local connection waits for another's write lock (the ledger's committer, another process). */
export const BUSY_TIMEOUT_MS = 5000;

/**
 * Opens the libSQL database. A local file gets WAL (readers never block the ledger writer) and a
 * busy timeout on every connection of the client's pool, so the ledger's committer and other
 * processes can share it; a remote URL (libsql://, https://) is used as is.
 */
export async function openDatabase(url: string, authToken?: string): Promise<Database> {
  const local = url.startsWith('file:');
  const client = createClient({ url, ...(authToken === undefined ? {} : { authToken }), ...(local ? { timeout: BUSY_TIMEOUT_MS } : {}) });
  if (local) {
    await client.execute('PRAGMA journal_mode = WAL');
    await client.execute('PRAGMA synchronous = NORMAL');
  }
  return { db: drizzle(client, { schema }), client, close: () => client.close() };
}
