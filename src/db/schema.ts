// Every table, re-exported for drizzle-kit and the typed client. Each concern owns its tables.
export { settings } from './settings';
export { apiKeys } from '../keys/schema';
export { usageEvents } from '../ledger/schema';
export { catalogOverrides } from '../catalog/schema';
export { responseCache, promptCacheReturns } from '../cache/schema';
export { reportDims, reportRollups, reportTagRollups, reportRollupState, reportExports } from '../reports/schema';
