import type { Services } from '../gateway/services';

/**
 * A scheduled job: the same table drives Node (src/entry/node-jobs.ts, with src/jobs/cron.ts),
 * Workers (the scheduled handler) and `sluice jobs run <name>`. A job receives the time it was
 * scheduled for (epoch ms, from the clock) and must be safe to run twice or concurrently on
 * several instances: idempotency lives in the database, not in the scheduler.
 */
export interface Job {
  name: string;
  /** Five-field cron expression, UTC. */
  schedule: string;
  description: string;
  run(services: Services, scheduledAt: number): Promise<string>;
}
