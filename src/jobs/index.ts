import { evaluateAllBudgets } from '../budgets/evaluate';
import type { Job } from './types';

/** Every scheduled job. Concerns add theirs here; entries read this table (and wrangler.toml [triggers] lists the same crons). */
export const JOBS: readonly Job[] = [
  {
    name: 'budgets',
    schedule: '*/5 * * * *',
    description: 'check every budget against the ledger: threshold and forecast alerts the request path has not raised',
    run: (services, scheduledAt) => evaluateAllBudgets(services, scheduledAt),
  },
  {
    name: 'webhooks',
    schedule: '* * * * *',
    description: 'deliver due webhook messages and retry failed ones (exponential backoff with jitter)',
    run: async (services) => {
      const s = await services.webhooks.deliverDue();
      return `${s.attempted} attempts: ${s.succeeded} delivered, ${s.retrying} to retry, ${s.failed} failed`;
    },
  },
];

export function findJob(name: string): Job | undefined {
  return JOBS.find((job) => job.name === name);
}
