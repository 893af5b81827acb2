import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Database } from '../../src/db/client';
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
