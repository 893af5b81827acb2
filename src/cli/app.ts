// Node-only: the whole app against the configured database, for commands that need its services.
import { createApp, type SluiceApp } from '../app';
import { openDatabase } from '../db/client';
import { applyMigrations } from '../db/migrate';
import { createJsonLogger, systemClock } from '../deps';
import { resolveHost } from '../entry/node-dns';
import { folderExportSink } from '../entry/node-export-sink';
import { createNodeTransport } from '../entry/node-transport';
import { loadConfig } from '../entry/load-config';

/** Builds the app (migrated database, Node transport), runs `use`, then flushes and closes everything. */
export async function withApp<T>(use: (sluice: SluiceApp) => Promise<T>): Promise<T> {
  const config = loadConfig(process.env);
  const database = await openDatabase(config.dbUrl, config.dbAuthToken);
  const transport = createNodeTransport();
  const pending: Promise<unknown>[] = [];
  try {
    await applyMigrations(database.db);
    const sluice = await createApp({
      db: database.db,
      clock: systemClock,
      transport: transport.transport,
      config,
      logger: createJsonLogger('info'),
      resolveHost,
      defer: (promise) => pending.push(promise),
      exportSink: folderExportSink(config.reports.exportDir),
    });
    const result = await use(sluice);
    await Promise.allSettled(pending);
    await sluice.shutdown();
    return result;
  } finally {
    transport.close();
    database.close();
  }
}
