import { budgetsJob } from '../budgets/job';
import { cacheCleanupJob } from '../cache/jobs';
import { webhooksJob } from '../webhooks/job';
import type { Job } from './types';

/** Every scheduled job. Concerns add theirs here; entries read this table (and wrangler.toml [triggers] lists the same crons). */
export const JOBS: readonly Job[] = [cacheCleanupJob, budgetsJob, webhooksJob];

export function findJob(name: string): Job | undefined {
  return JOBS.find((job) => job.name === name);
}
