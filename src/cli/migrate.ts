// Node-only: `sluice migrate` applies the committed migrations to the configured database.
import { openDatabase } from '../db/client';
import { applyMigrations } from '../db/migrate';
import { loadConfig } from '../entry/load-config';

export async function migrateCommand(): Promise<number> {
  const config = loadConfig(process.env);
  const database = await openDatabase(config.dbUrl, config.dbAuthToken);
  try {
    await applyMigrations(database.db);
    console.log(`migrations applied to ${config.dbUrl}`);
    return 0;
  } finally {
    database.close();
  }
}
