import type { ChatRequest } from '../gateway/chat';
import type { CacheHint } from '../gateway/hints';
import type { Principal } from '../keys/keys';
import type { KeyPolicy } from '../keys/policy';

/** What the response cache may do for one request. */
export interface ResponseCachePlan {
  /** Look for a stored answer (false for `x-sluice-cache: refresh`, which only stores). */
  lookup: boolean;
  /** Entries are shared within this scope only: the key (default) or the key's team. */
  scope: string;
  ttlMs: number;
}

/** Temperature 0 or a seed: the caller asked for the same answer to the same question. */
export function isDeterministic(request: ChatRequest): boolean {
  return request.temperature === 0 || request.seed != null;
}

/**
 * The scope entries are shared in. `cache_scope: team` widens it to the key's team, never
 * further; a key without a team keeps its own scope.
 */
export function cacheScope(principal: Principal, policy: KeyPolicy): string {
  if (policy.cache_scope === 'team' && principal.team !== null) return `team:${principal.team}`;
  return `key:${principal.keyId}`;
}

/**
 * Whether the response cache takes part, from the caller's `x-sluice-cache` hint and the key's
 * `response_cache` policy (default `deterministic`). `bypass` opts the request out entirely
 * (nothing is looked up or stored); `use` and `refresh` opt it in whatever the policy; without a
 * hint, `always` caches every request, `deterministic` only deterministic ones, `off` none.
 * Undefined means the cache is bypassed.
 */
export function responseCachePlan(
  principal: Principal,
  policy: KeyPolicy,
  request: ChatRequest,
  hint: CacheHint | undefined,
  defaultTtlS: number,
): ResponseCachePlan | undefined {
  if (hint === 'bypass') return undefined;
  if (hint === undefined) {
    const mode = policy.response_cache ?? 'deterministic';
    if (mode === 'off' || (mode === 'deterministic' && !isDeterministic(request))) return undefined;
  }
  return { lookup: hint !== 'refresh', scope: cacheScope(principal, policy), ttlMs: (policy.cache_ttl_s ?? defaultTtlS) * 1000 };
}
