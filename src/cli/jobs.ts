// Node-only: `sluice jobs run <job>` runs one scheduled job now, against the configured database.
import { systemClock } from '../deps';
import { findJob, JOBS } from '../jobs';
import { withApp } from './app';
import { UsageError } from './args';

export async function jobsCommand(argv: string[]): Promise<number> {
  const [sub, name] = argv;
  if (sub === 'list') {
    for (const job of JOBS) console.log(`${job.name}\t${job.schedule}\t${job.description}`);
    return 0;
  }
  const job = name === undefined ? undefined : findJob(name);
  if (sub !== 'run' || !job) throw new UsageError(`sluice jobs run <${JOBS.map((j) => j.name).join('|')}>\nsluice jobs list`);
  return withApp(async (sluice) => {
    console.log(`${job.name}: ${await job.run(sluice.services, systemClock.now())}`);
    return 0;
  });
}
