import type { Job } from '../jobs/types';
import { evaluateAllBudgets } from './evaluate';

/** Every budget against the ledger: the threshold and forecast alerts the request path has not raised. */
export const budgetsJob: Job = {
  name: 'budgets',
  schedule: '*/5 * * * *',
  description: 'check every budget against the ledger: threshold and forecast alerts the request path has not raised',
  run: (services, scheduledAt) => evaluateAllBudgets(services, scheduledAt),
};
