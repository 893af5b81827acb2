import { cacheCleanupJob } from '../cache/jobs';
import type { Job } from './types';

/** Every scheduled job. Concerns add theirs here; entries read this table. */
export const JOBS: readonly Job[] = [cacheCleanupJob];

export function findJob(name: string): Job | undefined {
  return JOBS.find((job) => job.name === name);
}
