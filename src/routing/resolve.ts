import { rungForScore, SCORER_VERSION, scoreOnly } from '../../scoring/index';
import type { Catalog, CatalogModel, Family } from '../catalog/catalog';
import type { ChatRequest } from '../gateway/chat';
import { estimateTokens } from '../gateway/estimate';
import type { RequestHints } from '../gateway/hints';
import type { Principal } from '../keys/keys';
import type { KeyPolicy } from '../keys/policy';
import { priceUsage } from '../ledger/pricing';
import { SluiceError } from '../errors';
import { ZERO_USAGE } from '../gateway/usage';
import { requirementsOf, unmetRequirement, type Requirements } from './requirements';
import { conversationKey, type ConversationMemory } from './sticky';

/** Why the served model is the one it is: a short machine-readable reason for headers and the ledger. */
export type RouteReason = 'requested' | 'score' | 'sticky' | 'policy' | 'budget' | 'capability' | 'shadow';

export type RoutingMode = 'auto' | 'shadow' | 'off';

export interface RouteDecision {
  /** The model name as the caller sent it. */
  requestedModel: string;
  model: CatalogModel;
  family: Family | undefined;
  /** What the request is priced against to attribute savings: the requested model, or the family baseline for `auto`. */
  baseline: CatalogModel;
  reason: RouteReason;
  complexity: number | null;
  scorerVersion: string | null;
  /** In shadow mode, the model routing would have chosen (served: the requested one). */
  shadow?: CatalogModel;
}

export interface RouteInput {
  catalog: Catalog;
  principal: Principal;
  request: ChatRequest;
  hints: RequestHints;
  /** The key's policy with the deployment's defaults applied. */
  policy?: KeyPolicy;
  /** Conversation memory for stickiness, with the clock's time; absent for side-effect-free decisions (explain). */
  conversations?: { memory: ConversationMemory; now: number };
}

const MODE_ORDER: Record<RoutingMode, number> = { off: 0, shadow: 1, auto: 2 };
/** Expected output when the request sets no budget, for cost estimates only. */
const DEFAULT_EXPECTED_OUTPUT = 256;

/** A request header may make routing more conservative than the key's policy, never less. */
export function routingMode(policy: KeyPolicy | undefined, hint: RoutingMode | undefined): RoutingMode {
  const fromPolicy = policy?.routing ?? 'auto';
  return hint !== undefined && MODE_ORDER[hint] < MODE_ORDER[fromPolicy] ? hint : fromPolicy;
}

/** Whether the key's allowed models and families (empty: any) admit the model. */
export function isAllowed(principal: Principal, model: CatalogModel): boolean {
  if (principal.allowedModels.length > 0 && !principal.allowedModels.some((m) => m === model.id || model.aliases.includes(m))) return false;
  if (principal.allowedFamilies.length > 0 && (model.family === undefined || !principal.allowedFamilies.includes(model.family))) return false;
  return true;
}

function checkAllowed(principal: Principal, model: CatalogModel, requested: string): void {
  if (isAllowed(principal, model)) return;
  const limits = principal.allowedModels.length > 0 ? `the models: ${principal.allowedModels.join(', ')}` : `the families: ${principal.allowedFamilies.join(', ')}`;
  throw new SluiceError('forbidden', `This key may not use model "${requested}"; it may use ${limits}.`, { param: 'model' });
}

/** The family an `auto` / `auto:<family>` model name asks for, or undefined for a concrete name. */
export function requestedFamily(catalog: Catalog, name: string): Family | undefined {
  const lower = name.toLowerCase();
  if (lower === 'auto') return catalog.defaultFamily;
  if (!lower.startsWith('auto:')) return undefined;
  const family = catalog.family(lower.slice(5));
  if (!family) {
    throw new SluiceError('model_not_found', `There is no model family "${name.slice(5)}". Families: ${catalog.families.map((f) => f.name).join(', ')}.`, { param: 'model' });
  }
  return family;
}

/** The rung of a ladder of any length for a score; the scorer's thresholds cover 2 to 4 rungs. */
function rungOf(score: number, ladderLength: number, quality: number | undefined): number {
  if (ladderLength <= 1) return 0;
  if (ladderLength <= 4) return rungForScore(score, ladderLength, quality);
  return Math.round((rungForScore(score, 4, quality) * (ladderLength - 1)) / 3);
}

interface Proposal {
  model: CatalogModel;
  reason: 'score' | 'capability';
}

/**
 * The cheapest adequate model of a ladder (cheapest first): the score's rung, moved up until the
 * model can serve the request (tools, images, JSON mode, PDFs, reasoning, context window).
 */
export function chooseOnLadder(ladder: readonly CatalogModel[], score: number, quality: number | undefined, needs: Requirements): Proposal | undefined {
  const start = rungOf(score, ladder.length, quality);
  for (let rung = start; rung < ladder.length; rung++) {
    const model = ladder[rung]!;
    if (unmetRequirement(model, needs) === undefined) return { model, reason: rung === start ? 'score' : 'capability' };
  }
  return undefined;
}

/**
 * Estimated cost of the request on a model (nano-USD), for comparisons and explanations. The
 * prefix is either read from the model's prompt cache or, on a model new to the conversation,
 * written to it (a write costs more than plain input where the provider charges for writes).
 */
export function estimatedCost(model: CatalogModel, needs: Requirements, request: ChatRequest, prefix?: { tokens: number; cached: boolean }): number {
  const output = request.max_completion_tokens ?? request.max_tokens ?? DEFAULT_EXPECTED_OUTPUT;
  const prefixTokens = Math.min(prefix?.tokens ?? 0, needs.promptTokens);
  return priceUsage(model.rates, 'standard', {
    ...ZERO_USAGE,
    inputTokens: needs.promptTokens - prefixTokens,
    cachedInputTokens: prefix?.cached ? prefixTokens : 0,
    cacheWriteTokens: prefix?.cached === false && model.capabilities.prompt_caching ? prefixTokens : 0,
    outputTokens: output,
  }) + (prefix?.cached === false && !model.capabilities.prompt_caching ? priceUsage(model.rates, 'standard', { ...ZERO_USAGE, inputTokens: prefixTokens }) : 0);
}

function prefixTokens(request: ChatRequest): number {
  let text = '';
  for (let i = 0; i < request.messages.length - 1; i++) {
    const content = request.messages[i]!.content;
    text += typeof content === 'string' ? content : JSON.stringify(content ?? '');
  }
  return estimateTokens(text);
}

/**
 * Keeps a conversation on the model it is on unless moving saves more than the prompt cache it
 * would throw away. Moving up (the score says the conversation got harder) always wins: quality
 * before cache.
 */
function stickTo(previous: CatalogModel | undefined, proposal: Proposal, ladder: readonly CatalogModel[], needs: Requirements, request: ChatRequest): Proposal | { model: CatalogModel; reason: 'sticky' } {
  if (!previous || previous === proposal.model || !ladder.includes(previous)) return proposal;
  if (ladder.indexOf(proposal.model) > ladder.indexOf(previous) || unmetRequirement(previous, needs) !== undefined) return proposal;
  const prefix = prefixTokens(request);
  const stay = estimatedCost(previous, needs, request, { tokens: prefix, cached: true });
  const move = estimatedCost(proposal.model, needs, request, { tokens: prefix, cached: false });
  return stay <= move ? { model: previous, reason: 'sticky' } : proposal;
}

/**
 * Decides which model serves a request. `auto` / `auto:<family>` route by the complexity score
 * on the family's ladder; a concrete model moves down its own ladder only when the key's policy
 * allows downgrades — never up, never across families, never to a model the key may not use or
 * that lacks what the request needs. Shadow mode decides the same way but serves the requested
 * model, so the ledger shows what routing would have saved.
 */
export function resolveRoute(input: RouteInput): RouteDecision {
  const { catalog, principal, request, hints, policy } = input;
  const family = requestedFamily(catalog, request.model);
  const requested = family ? family.baseline : catalog.find(request.model);
  if (!requested) {
    throw new SluiceError(
      'model_not_found',
      `The model "${request.model}" is not in Sluice's catalog. GET /v1/models lists the models and auto:<family> routers you can use.`,
      { param: 'model' },
    );
  }
  const ladderFamily = family ?? catalog.familyOf(requested);
  const mode = routingMode(policy, hints.route);
  const score = scoreOnly(request);
  const base = { requestedModel: request.model, family: ladderFamily, baseline: requested, complexity: score, scorerVersion: SCORER_VERSION };

  // A concrete model is served as named unless the key allows downgrades (shadow still shows what they would save).
  const routable = family !== undefined || (ladderFamily !== undefined && (policy?.downgrade === true || mode === 'shadow'));
  if (!ladderFamily || !routable || mode === 'off') {
    const served = family ? firstAllowed(principal, [family.baseline, ...[...family.models].reverse()], request.model) : requested;
    if (!family) checkAllowed(principal, requested, request.model);
    return { ...base, model: served, reason: family ? 'policy' : 'requested' };
  }

  // The ladder: the family's allowed models, and for a concrete model only those up to it.
  const top = family ? ladderFamily.models.length : ladderFamily.models.indexOf(requested) + 1;
  const ladder = ladderFamily.models.slice(0, top).filter((m) => isAllowed(principal, m));
  if (!family) checkAllowed(principal, requested, request.model);
  if (ladder.length === 0) checkAllowed(principal, ladderFamily.baseline, request.model);

  const needs = requirementsOf(request);
  const quality = hints.quality ?? policy?.quality;
  let proposal: Proposal | { model: CatalogModel; reason: 'sticky' } | undefined = chooseOnLadder(ladder, score, quality, needs);
  if (!proposal) return { ...base, model: family ? firstAllowed(principal, [...ladder].reverse(), request.model) : requested, reason: 'capability' };

  const memory = input.conversations;
  const conversation = memory ? conversationKey(principal.keyId, request, hints.session) : undefined;
  if (memory && conversation) {
    const previousId = memory.memory.modelFor(conversation, memory.now);
    proposal = stickTo(previousId === undefined ? undefined : catalog.find(previousId), proposal, ladder, needs, request);
  }

  if (mode === 'shadow') {
    const served = family ? firstAllowed(principal, [family.baseline, ...[...ladder].reverse()], request.model) : requested;
    return { ...base, model: served, reason: 'shadow', shadow: proposal.model };
  }
  if (memory && conversation) memory.memory.remember(conversation, proposal.model, memory.now);
  return { ...base, model: proposal.model, reason: proposal.reason };
}

function firstAllowed(principal: Principal, candidates: readonly CatalogModel[], requested: string): CatalogModel {
  const allowed = candidates.find((m) => isAllowed(principal, m));
  if (!allowed) checkAllowed(principal, candidates[0]!, requested);
  return allowed ?? candidates[0]!;
}
