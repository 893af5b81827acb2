import { describeRun, runBatch } from '../batch/runner';
import { budgetsJob } from '../budgets/job';
import { cacheCleanupJob } from '../cache/jobs';
import { monthlyExportJob } from '../reports/monthly-export';
import { rollupJob } from '../reports/rollup-job';
import { webhooksJob } from '../webhooks/job';
import type { Job } from './types';

/** Every scheduled job. Concerns add theirs here; entries read this table (and wrangler.toml [triggers] lists the same crons). */
export const JOBS: readonly Job[] = [
  cacheCleanupJob,
  {
    name: 'batch',
    schedule: '* * * * *',
    description: 'Deferred requests: submit queued items as provider batch jobs, poll them, drain models without a batch API, expire the stale.',
    run: async (services, scheduledAt) => describeRun(await runBatch(services, scheduledAt)),
  },
  budgetsJob,
  webhooksJob,
  rollupJob,
  monthlyExportJob,
];

export function findJob(name: string): Job | undefined {
  return JOBS.find((job) => job.name === name);
}
