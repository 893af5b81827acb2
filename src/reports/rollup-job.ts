import type { Job } from '../jobs/types';
import { backfillRollups, reconcileRollups } from './rollups';

/** Days checked against the ledger on every run (late writes by older instances land in recent days). */
const RECONCILE_DAYS = 2;
/** Days backfilled per run: each is one transaction; the hourly schedule finishes a long history. */
const BACKFILL_DAYS_PER_RUN = 31;

export const rollupJob: Job = {
  name: 'rollup',
  schedule: '7 * * * *',
  description: 'check recent rollups against the ledger, repair any day that disagrees, backfill older events',
  async run(services, scheduledAt) {
    const { db } = services.deps;
    const repaired = await reconcileRollups(db, scheduledAt, RECONCILE_DAYS);
    const backfilled = await backfillRollups(db, scheduledAt, BACKFILL_DAYS_PER_RUN);
    return `repaired ${repaired} day(s), backfilled ${backfilled} day(s)`;
  },
};
