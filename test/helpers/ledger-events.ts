import type { LedgerEvent } from '../../src/ledger/writer';
import { ledgerEvent } from './ledger';

/** Randomized tests replay from their seed with the scorer's deterministic PRNG. */
export { seededRandom } from '../../scoring/evaluate';

export interface EventPools {
  keys: { id: string; user: string | null; team: string | null; project: string | null; tags: Record<string, string> }[];
  models: { id: string; provider: string; family: string | null }[];
}

export const DEFAULT_POOLS: EventPools = {
  keys: [
    { id: 'key_alpha', user: 'ana', team: 'search', project: 'ranker', tags: { env: 'prod', cost_center: 'cc-1' } },
    { id: 'key_beta', user: 'bo', team: 'search', project: 'indexer', tags: { env: 'staging' } },
    { id: 'key_gamma', user: null, team: 'ads', project: null, tags: {} },
    { id: 'key_delta', user: 'di', team: null, project: 'misc', tags: { env: 'prod', 'sluice.app': 'x,"y"' } },
  ],
  models: [
    { id: 'gpt-4o-mini', provider: 'openai', family: 'gpt-4o' },
    { id: 'gpt-4o', provider: 'openai', family: 'gpt-4o' },
    { id: 'claude-haiku-4-5', provider: 'anthropic', family: null },
    { id: 'nova-micro', provider: 'bedrock', family: 'nova' },
  ],
};

let counter = 0;

/**
 * A plausible ledger event with random attribution, usage, money (including large amounts and
 * negative savings) and latency, at `time`. Costs are arbitrary integers: reports only add them up.
 */
export function randomEvent(random: () => number, time: number, pools: EventPools = DEFAULT_POOLS): LedgerEvent {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const int = (max: number): number => Math.floor(random() * max);
  const key = pick(pools.keys);
  const model = pick(pools.models);
  const status = random() < 0.08 ? 'error' : random() < 0.03 ? 'aborted' : 'ok';
  const cost = status === 'ok' ? (random() < 0.01 ? 9_000_000_000_000 + int(1e9) : int(5_000_000)) : 0;
  const routing = int(300_000) - 100_000;
  const caching = int(200_000) - 50_000;
  const tier = int(100_000);
  const requestTags = random() < 0.3 ? { feature: pick(['chat', 'search', 'summarize']) } : {};
  const n = counter++;
  const id = `${String(time).padStart(14, '0')}${String(n).padStart(8, '0')}`;
  return {
    ...ledgerEvent(n),
    id: `evt_${id}`,
    time,
    requestId: `req_${id}`,
    keyId: key.id,
    user: key.user,
    team: key.team,
    project: key.project,
    tags: JSON.stringify({ ...requestTags, ...key.tags }),
    requestedModel: model.id,
    servedModel: model.id,
    provider: model.provider,
    family: model.family,
    tier: pick(['standard', 'standard', 'flex', 'batch', 'priority']),
    stream: random() < 0.5,
    inputTokens: int(5000),
    cachedInputTokens: int(2000),
    cacheWriteTokens: int(500),
    outputTokens: int(1500),
    reasoningTokens: int(100),
    costNusd: cost,
    baselineCostNusd: cost + routing + caching + tier,
    routingSavingsNusd: routing,
    cachingSavingsNusd: caching,
    tierSavingsNusd: tier,
    cache: pick(['bypass', 'hit', 'miss']),
    latencyMs: random() < 0.1 ? int(20) : Math.floor(Math.exp(random() * 11)),
    status,
    httpStatus: status === 'ok' ? 200 : 502,
    errorType: status === 'ok' ? null : 'upstream_error',
  };
}
