// Node-only: `sluice jobs run <job>` runs one scheduled job now, against the configured database.
import { createApp } from '../app';
import { openDatabase } from '../db/client';
import { applyMigrations } from '../db/migrate';
import { createJsonLogger, systemClock } from '../deps';
import { folderExportSink } from '../entry/node-export-sink';
import { createNodeTransport } from '../entry/node-transport';
import { loadConfig } from '../entry/load-config';
import { findJob, JOBS } from '../jobs';
import { UsageError } from './args';

export async function jobsCommand(argv: string[]): Promise<number> {
  const [sub, name] = argv;
  if (sub === 'list') {
    for (const job of JOBS) console.log(`${job.name}\t${job.schedule}\t${job.description}`);
    return 0;
  }
  const job = name === undefined ? undefined : findJob(name);
  if (sub !== 'run' || !job) throw new UsageError(`sluice jobs run <${JOBS.map((j) => j.name).join('|')}>\nsluice jobs list`);
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
      defer: (promise) => pending.push(promise),
      exportSink: folderExportSink(config.reports.exportDir),
    });
    console.log(`${job.name}: ${await job.run(sluice.services, systemClock.now())}`);
    await Promise.allSettled(pending);
    await sluice.shutdown();
    return 0;
  } finally {
    transport.close();
    database.close();
  }
}
