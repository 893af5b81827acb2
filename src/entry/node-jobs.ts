// Node-only: runs the job table on its cron schedules (UTC), one run at a time per job.
import type { Services } from '../gateway/services';
import { JOBS } from '../jobs';
import { nextRun, parseCron } from '../jobs/cron';
import type { Job } from '../jobs/types';

/** setTimeout's longest delay; a monthly job's wait is longer, so the timer is re-armed on the way. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Each job waits for its next matching minute by the services' clock and runs with that minute as
 * its scheduled time. A tick that comes while the job's previous run is still going is skipped;
 * minutes missed while the process was busy or asleep are not made up (the jobs catch up on their
 * own next run).
 */
export function startJobs(services: Services, jobs: readonly Job[] = JOBS): { stop(): Promise<void> } {
  const { clock } = services.deps;
  const schedules = new Map(jobs.map((job) => [job, parseCron(job.schedule)]));
  const runs = new Map<Job, Promise<void>>();
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;

  const arm = (job: Job, due: number): void => {
    if (stopped) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (clock.now() < due) return arm(job, due);
      if (!runs.has(job)) {
        const run = job
          .run(services, due)
          .then((summary) => services.deps.logger.debug(`job ${job.name}: ${summary}`))
          .catch((error: unknown) => services.deps.logger.error(`job ${job.name} failed`, { error: (error as Error).message }))
          .finally(() => runs.delete(job));
        runs.set(job, run);
      }
      arm(job, nextRun(schedules.get(job)!, Math.max(due, clock.now())));
    }, Math.min(Math.max(0, due - clock.now()), MAX_TIMER_MS));
    timers.add(timer);
  };
  for (const [job, schedule] of schedules) arm(job, nextRun(schedule, clock.now()));

  return {
    async stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.allSettled([...runs.values()]);
    },
  };
}
