import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Database, type Db } from '../../src/db/client';
import { applyMigrations } from '../../src/db/migrate';

/** A migrated libSQL file in a temp folder (never :memory:, whose transactions lose the schema). */
export async function createTestDatabase(): Promise<Database & { cleanup(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-db-'));
  const database = await openDatabase(`file:${join(dir, 'test.db')}`);
  await applyMigrations(database.db);
  return {
    ...database,
    cleanup() {
      database.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Wraps a Db so that its client's batch() fails the next `failures` times, optionally after committing. */
export function flaky(db: Db, failures: { count: number; afterCommit?: boolean }): Db {
  const client = db.$client;
  const flakyClient = new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === 'batch') {
        return async (...args: Parameters<typeof client.batch>) => {
          if (failures.count > 0) {
            failures.count--;
            if (failures.afterCommit) await target.batch(...args);
            throw new Error('database is locked');
          }
          return target.batch(...args);
        };
      }
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
  return new Proxy(db, {
    get(target, prop, receiver) {
      return prop === '$client' ? flakyClient : (Reflect.get(target, prop, receiver) as unknown);
    },
  });
}
