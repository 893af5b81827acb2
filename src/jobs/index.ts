import { cacheCleanupJob } from '../cache/jobs';
import { monthlyExportJob } from '../reports/monthly-export';
import { rollupJob } from '../reports/rollup-job';
import type { Job } from './types';

/** Every scheduled job. Concerns add theirs here; entries read this table. */
export const JOBS: readonly Job[] = [cacheCleanupJob, rollupJob, monthlyExportJob];

export function findJob(name: string): Job | undefined {
  return JOBS.find((job) => job.name === name);
}
