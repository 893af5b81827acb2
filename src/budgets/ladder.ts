import type { Catalog, CatalogModel } from '../catalog/catalog';
import type { ServiceTier } from '../catalog/types';
import { contentText, type ChatRequest } from '../gateway/chat';
import { ZERO_USAGE } from '../gateway/usage';
import type { Principal } from '../keys/keys';
import { priceUsage } from '../ledger/pricing';
import { requirementsOf, unmetRequirement, type Requirements } from '../routing/requirements';
import { isAllowed, type RouteDecision } from '../routing/resolve';

/** Tokens reserved per non-text part (an image, audio clip or file): a high-detail image is about this much. */
const TOKENS_PER_ATTACHMENT = 1_500;
const TOKENS_PER_MESSAGE = 8;

/**
 * A deliberately generous prompt size for reservations: three characters a token (English runs
 * at about four), plus per-message overhead and a flat allowance per attachment. Reserving too
 * much only makes the last sliver of a budget stricter; reserving too little is overshoot.
 */
export function reservedPromptTokens(request: ChatRequest): number {
  let chars = 0;
  let attachments = 0;
  for (const message of request.messages) {
    chars += contentText(message.content).length;
    if (Array.isArray(message.content)) attachments += message.content.filter((part) => part.type !== 'text').length;
    if (message.role === 'assistant' && message.tool_calls) chars += JSON.stringify(message.tool_calls).length;
  }
  if (request.tools?.length) chars += JSON.stringify(request.tools).length;
  if (request.response_format) chars += JSON.stringify(request.response_format).length;
  return Math.ceil(chars / 3) + TOKENS_PER_MESSAGE * request.messages.length + TOKENS_PER_ATTACHMENT * attachments;
}

/** The most output a request can produce on a model: its own limit, else the model's, times `n`. */
export function maxOutputTokens(request: ChatRequest, model: CatalogModel, promptTokens: number): number {
  const asked = request.max_completion_tokens ?? request.max_tokens ?? undefined;
  const limit = asked ?? model.max_output_tokens ?? Math.max(1, model.context_window - promptTokens);
  return limit * (request.n ?? 1);
}

/**
 * The most a request can cost on a model and tier, in nano-USD: the prompt priced at the dearer of
 * plain input and a one-hour cache write (prompt caching may write it), plus the maximum output.
 */
export function worstCaseNusd(model: CatalogModel, tier: ServiceTier, request: ChatRequest, promptTokens: number): number {
  const outputTokens = maxOutputTokens(request, model, promptTokens);
  const asInput = priceUsage(model.rates, tier, { ...ZERO_USAGE, inputTokens: promptTokens, outputTokens });
  const asCacheWrite = priceUsage(model.rates, tier, { ...ZERO_USAGE, cacheWriteTokens: promptTokens, cacheWrite1hTokens: promptTokens, outputTokens });
  return Math.max(asInput, asCacheWrite);
}

export interface Rung {
  model: CatalogModel;
  tier: ServiceTier;
  worstNusd: number;
}

/** Whether a cheaper model can take the request as it is: routing's capability and context guards, and its output limit. */
function canServe(model: CatalogModel, request: ChatRequest, needs: Requirements): boolean {
  const asked = request.max_completion_tokens ?? request.max_tokens ?? 0;
  if (model.max_output_tokens !== undefined && asked > model.max_output_tokens) return false;
  return unmetRequirement(model, needs) === undefined;
}

/**
 * The downgrade ladder for a request, dearest first: the route as decided; then each cheaper model
 * of its family (the catalog's ladder) the request fits on and the key may use; then flex on the
 * cheapest of those, where that model is sold at flex. (The response cache and the batch tier are
 * not rungs yet: see src/budgets/README.md.)
 */
export function downgradeLadder(catalog: Catalog, decision: RouteDecision, tier: ServiceTier, request: ChatRequest, principal: Principal, promptTokens: number): Rung[] {
  const rung = (model: CatalogModel, asked: ServiceTier): Rung => {
    // A cheaper model that is not sold at the asked tier (say priority) is asked for at standard.
    const t = asked === 'standard' || model.tiers.includes(asked) ? asked : 'standard';
    return { model, tier: t, worstNusd: worstCaseNusd(model, t, request, promptTokens) };
  };
  const rungs = [{ model: decision.model, tier, worstNusd: worstCaseNusd(decision.model, tier, request, promptTokens) }];
  const family = decision.family ?? catalog.familyOf(decision.model);
  const position = family ? family.models.indexOf(decision.model) : -1;
  const cheaper = family && position > 0 ? family.models.slice(0, position).reverse() : [];
  const needs = requirementsOf(request);
  for (const model of cheaper) {
    if (canServe(model, request, needs) && isAllowed(principal, model)) rungs.push(rung(model, tier));
  }
  const bottom = rungs[rungs.length - 1]!;
  if (bottom.tier !== 'flex' && bottom.model.tiers.includes('flex') && bottom.model.rates.tiers.flex) rungs.push(rung(bottom.model, 'flex'));
  return rungs;
}
