import { describeRun, runBatch } from '../batch/runner';
import { cacheCleanupJob } from '../cache/jobs';
import type { Job } from './types';

/** Every scheduled job. Concerns add theirs here; entries read this table. */
export const JOBS: readonly Job[] = [
  cacheCleanupJob,
  {
    name: 'batch',
    schedule: '* * * * *',
    description: 'Deferred requests: submit queued items as provider batch jobs, poll them, drain models without a batch API, expire the stale.',
    run: async (services, scheduledAt) => describeRun(await runBatch(services, scheduledAt)),
  },
];

export function findJob(name: string): Job | undefined {
  return JOBS.find((job) => job.name === name);
}
