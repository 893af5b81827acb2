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

/**
 * Opens the libSQL database. A local file gets WAL (readers never block the ledger writer) and a
 * busy timeout, so several processes can share it; a remote URL (libsql://, https://) is used as is.
 */
export async function openDatabase(url: string, authToken?: string): Promise<Database> {
  const client = createClient(authToken === undefined ? { url } : { url, authToken });
  if (url.startsWith('file:')) {
    await client.execute('PRAGMA journal_mode = WAL');
    await client.execute('PRAGMA busy_timeout = 5000');
    await client.execute('PRAGMA synchronous = NORMAL');
  }
  return { db: drizzle(client, { schema }), client, close: () => client.close() };
}
