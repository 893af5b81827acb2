import type { Job } from '../jobs/types';

/** Keeps the response cache table bounded: expired entries go, then the least recently used beyond the size cap. */
export const cacheCleanupJob: Job = {
  name: 'cache',
  schedule: '*/10 * * * *',
  description: 'Response cache: delete expired entries, then the least recently used beyond SLUICE_CACHE_DB_MB.',
  async run(services, scheduledAt) {
    const { expired, evicted } = await services.cache.responses.cleanup(scheduledAt);
    return `${expired} expired, ${evicted} evicted beyond the size cap`;
  },
};
