// Node-only: runs the job table on its cron schedules (UTC), one run at a time per job.
import { CronJob } from 'cron';
import type { Services } from '../gateway/services';
import { JOBS } from '../jobs';

export function startJobs(services: Services): { stop(): Promise<void> } {
  const running = new Set<Promise<unknown>>();
  const crons = JOBS.map((job) =>
    CronJob.from({
      cronTime: job.schedule,
      timeZone: 'UTC',
      start: true,
      waitForCompletion: true,
      onTick: async () => {
        const run = job
          .run(services, services.deps.clock.now())
          .then((summary) => services.deps.logger.debug(`job ${job.name}: ${summary}`))
          .catch((error: unknown) => services.deps.logger.error(`job ${job.name} failed`, { error: (error as Error).message }));
        running.add(run);
        await run.finally(() => running.delete(run));
      },
    }),
  );
  return {
    async stop() {
      for (const cron of crons) await cron.stop();
      await Promise.allSettled([...running]);
    },
  };
}
