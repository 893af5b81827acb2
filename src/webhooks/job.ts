import type { Job } from '../jobs/types';

/** Delivers due webhook messages and retries failed ones (exponential backoff with jitter). */
export const webhooksJob: Job = {
  name: 'webhooks',
  schedule: '* * * * *',
  description: 'deliver due webhook messages and retry failed ones (exponential backoff with jitter)',
  run: async (services) => {
    const s = await services.webhooks.deliverDue();
    return `${s.attempted} attempts: ${s.succeeded} delivered, ${s.retrying} to retry, ${s.failed} failed`;
  },
};
