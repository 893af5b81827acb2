// Every table, re-exported for drizzle-kit and the typed client. Each concern owns its tables.
export { settings } from './settings';
export { apiKeys } from '../keys/schema';
export { usageEvents } from '../ledger/schema';
export { catalogOverrides } from '../catalog/schema';
export { budgets, budgetAlerts } from '../budgets/schema';
export { webhookEndpoints, webhookEvents, webhookDeliveries, webhookAttempts } from '../webhooks/schema';
export { deferredItems, batchJobs } from '../batch/schema';
export { responseCache, promptCacheReturns } from '../cache/schema';
export { reportDims, reportRollups, reportTagRollups, reportRollupState, reportExports } from '../reports/schema';
