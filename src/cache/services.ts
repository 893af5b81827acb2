import type { Deps } from '../deps';
import type { LedgerWriter } from '../ledger/writer';
import type { Metrics } from '../ops/metrics';
import { newId } from '../util/ids';
import { ResponseCache } from './response-cache';
import { PromptCacheReturns } from './write-return';

/** The caching concern's long-lived parts (one per app). */
export interface CacheServices {
  responses: ResponseCache;
  promptReturns: PromptCacheReturns;
}

export function createCacheServices(deps: Deps, ledger: LedgerWriter, metrics: Metrics): CacheServices {
  const responses = new ResponseCache(deps.db, deps.clock, deps.logger, deps.defer, deps.config.cache, metrics);
  const promptReturns = new PromptCacheReturns(deps.db, newId('writer', deps.clock.now()));
  responses.attach(ledger);
  promptReturns.attach(ledger, () => deps.clock.now());
  return { responses, promptReturns };
}
