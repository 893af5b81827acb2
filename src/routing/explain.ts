import { scoreRequest } from '../../scoring/index';
import type { Catalog } from '../catalog/catalog';
import type { ChatRequest } from '../gateway/chat';
import type { RequestHints } from '../gateway/hints';
import type { Principal } from '../keys/keys';
import type { KeyPolicy } from '../keys/policy';
import { formatUsd } from '../ledger/pricing';
import { requirementsOf, unmetRequirement } from './requirements';
import { estimatedCost, resolveRoute, routingMode } from './resolve';

export interface RouteExplanation {
  score: number;
  scorer_version: string;
  family: string | null;
  model: string;
  reason: string;
  mode: string;
  /** The largest terms of the score's logit. */
  contributions: Array<{ feature: string; value: number; weight: number }>;
  /** Every model of the ladder with its estimated cost for this request (prompt estimated, output = max_tokens or 256). */
  alternatives: Array<{ model: string; estimated_cost_usd: string; eligible: boolean; unmet?: string }>;
}

/** Explains the routing decision for a request without calling any upstream or touching conversation memory. */
export function explainRoute(catalog: Catalog, principal: Principal, request: ChatRequest, hints: RequestHints, policy: KeyPolicy): RouteExplanation {
  const decision = resolveRoute({ catalog, principal, request, hints, policy });
  const scored = scoreRequest(request);
  const needs = requirementsOf(request);
  const chosen = decision.shadow ?? decision.model;
  return {
    score: scored.score,
    scorer_version: scored.version,
    family: decision.family?.name ?? null,
    model: chosen.id,
    reason: decision.reason,
    mode: routingMode(policy, hints.route),
    contributions: scored.contributions.slice(0, 12),
    alternatives: (decision.family?.models ?? [decision.model]).map((model) => {
      const unmet = unmetRequirement(model, needs);
      return {
        model: model.id,
        estimated_cost_usd: formatUsd(estimatedCost(model, needs, request)),
        eligible: unmet === undefined,
        ...(unmet === undefined ? {} : { unmet }),
      };
    }),
  };
}
