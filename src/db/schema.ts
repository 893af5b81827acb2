// Every table, re-exported for drizzle-kit and the typed client. Each concern owns its tables.
export { settings } from './settings';
export { apiKeys } from '../keys/schema';
export { usageEvents } from '../ledger/schema';
export { catalogOverrides } from '../catalog/schema';
export { reportDims, reportRollups, reportRollupState, reportExports } from '../reports/schema';
