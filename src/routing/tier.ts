import type { CatalogModel } from '../catalog/catalog';
import type { ServiceTier } from '../catalog/types';
import { SluiceError } from '../errors';
import type { ChatRequest } from '../gateway/chat';
import type { TierHint } from '../gateway/hints';
import type { KeyPolicy } from '../keys/policy';

/**
 * Service-tier policy: which tier to ask the upstream for. Pure; the caller passes what it
 * knows. Precedence: an explicit tier (the `x-sluice-tier` hint, else OpenAI's own
 * `service_tier` body field) > a latency budget (`x-sluice-deadline`) > the key's policy tier
 * (`auto` when unset). The tier actually served is what the upstream reports, not this.
 */

/** Why the request asks for the tier it does (ledger `tier_reason`, header `x-sluice-tier-reason`). */
export type TierReason =
  /** Nothing asked for a tier: standard. */
  | 'default'
  /** The key's policy tier. */
  | 'policy'
  /** `auto` chose flex for a latency-tolerant key. */
  | 'auto'
  /** The `x-sluice-tier` hint. */
  | 'hint'
  /** OpenAI's `service_tier` body field. */
  | 'service_tier'
  /** The cheapest tier that meets `x-sluice-deadline`. */
  | 'deadline'
  /** The tier asked for is not sold for the served model: standard instead. */
  | 'unsupported'
  /** A batch policy on a streamed request: the cheapest tier that can stream. */
  | 'stream'
  /** Flex had no capacity after the retries; served at standard as the key's policy allows. */
  | 'flex_fallback'
  /** A downgrade budget stepped the request down to this tier (src/budgets). */
  | 'budget';

export interface TierInput {
  policy: Pick<KeyPolicy, 'tier' | 'latency_tolerant' | 'flex_fallback'>;
  hint: TierHint | undefined;
  /** Latency budget in seconds (`x-sluice-deadline`). */
  deadlineS: number | undefined;
  serviceTier: ChatRequest['service_tier'];
  model: Pick<CatalogModel, 'id' | 'tiers'>;
  stream: boolean;
  timeouts: { standardMs: number; flexMs: number };
}

export interface TierDecision {
  /** The tier to ask for; `batch` means the request is deferred to the batch queue. */
  tier: ServiceTier;
  reason: TierReason;
  /** Whether a flex request may fall back to standard when flex has no capacity. */
  flexFallback: boolean;
  /** Time allowed for the upstream to start answering at this tier. */
  timeoutMs: number;
}

/** Flex answers in minutes: it meets latency budgets of at least this many seconds. */
export const FLEX_MIN_DEADLINE_S = 10 * 60;
/** Provider batch jobs finish within 24 hours. */
export const BATCH_MIN_DEADLINE_S = 24 * 60 * 60;

function meetsDeadline(tier: ServiceTier, deadlineS: number): boolean {
  if (tier === 'batch') return deadlineS >= BATCH_MIN_DEADLINE_S;
  if (tier === 'flex') return deadlineS >= FLEX_MIN_DEADLINE_S;
  return true;
}

function sells(model: TierInput['model'], tier: ServiceTier): boolean {
  return model.tiers.includes(tier);
}

/** The tier a request names explicitly, and where it named it. */
function explicitTier(input: TierInput): { tier: ServiceTier; reason: 'hint' | 'service_tier' } | undefined {
  if (input.hint !== undefined && input.hint !== 'auto') return { tier: input.hint, reason: 'hint' };
  if (input.hint === 'auto') return undefined;
  switch (input.serviceTier) {
    case 'flex':
      return { tier: 'flex', reason: 'service_tier' };
    case 'priority':
      return { tier: 'priority', reason: 'service_tier' };
    case 'default':
      return { tier: 'standard', reason: 'service_tier' };
    default:
      // `auto`, `scale` and absent leave the choice to Sluice's policy (`scale` passes through to OpenAI).
      return undefined;
  }
}

/** The cheapest tier the model sells that meets the deadline (batch needs a non-streamed request). */
function tierForDeadline(input: TierInput, deadlineS: number): ServiceTier {
  if (!input.stream && sells(input.model, 'batch') && meetsDeadline('batch', deadlineS)) return 'batch';
  if (sells(input.model, 'flex') && meetsDeadline('flex', deadlineS)) return 'flex';
  return 'standard';
}

function policyTier(input: TierInput): { tier: ServiceTier; reason: TierReason } {
  const tier = input.hint === 'auto' ? 'auto' : (input.policy.tier ?? 'auto');
  if (tier === 'auto') {
    return input.policy.latency_tolerant === true && sells(input.model, 'flex') ? { tier: 'flex', reason: 'auto' } : { tier: 'standard', reason: 'default' };
  }
  if (tier === 'batch' && input.stream) {
    // A stream cannot wait for a batch job; the next cheapest tier that streams.
    return { tier: sells(input.model, 'flex') ? 'flex' : 'standard', reason: 'stream' };
  }
  return { tier, reason: 'policy' };
}

function describe(source: 'hint' | 'service_tier', tier: ServiceTier): string {
  return source === 'hint' ? `x-sluice-tier: ${tier}` : `service_tier "${tier === 'standard' ? 'default' : tier}"`;
}

/**
 * Chooses the tier for one request. Throws SluiceError('invalid_request') when the request
 * contradicts itself: batch on a stream, or an explicit tier that cannot meet its deadline.
 */
export function chooseTier(input: TierInput): TierDecision {
  if (input.deadlineS !== undefined && !(input.deadlineS > 0)) {
    throw new SluiceError('invalid_request', 'x-sluice-deadline must be a positive duration like 30s, 10m or 24h.', { param: 'x-sluice-deadline' });
  }
  const explicit = explicitTier(input);
  let choice: { tier: ServiceTier; reason: TierReason };
  if (explicit) {
    if (explicit.tier === 'batch' && input.stream) {
      throw new SluiceError(
        'invalid_request',
        'x-sluice-tier: batch defers the request and answers 202 with a poll URL, so it cannot be streamed. Send "stream": false, or choose another tier.',
        { param: 'x-sluice-tier' },
      );
    }
    if (input.deadlineS !== undefined && !meetsDeadline(explicit.tier, input.deadlineS)) {
      throw new SluiceError(
        'invalid_request',
        `${describe(explicit.reason, explicit.tier)} cannot meet x-sluice-deadline of ${input.deadlineS} s (flex needs at least ${FLEX_MIN_DEADLINE_S} s, batch ${BATCH_MIN_DEADLINE_S} s). Drop one of the two, or send x-sluice-tier: auto to let the deadline choose.`,
        { param: explicit.reason === 'hint' ? 'x-sluice-tier' : 'service_tier' },
      );
    }
    choice = explicit;
  } else if (input.deadlineS !== undefined) {
    choice = { tier: tierForDeadline(input, input.deadlineS), reason: 'deadline' };
  } else {
    choice = policyTier(input);
  }

  // Flex and priority are per-model upstream options; batch is Sluice's own queue, which drains
  // models without a batch API through flex or standard, so it is always available.
  if ((choice.tier === 'flex' || choice.tier === 'priority') && !sells(input.model, choice.tier)) {
    choice = { tier: 'standard', reason: 'unsupported' };
  }
  const tierTimeout = choice.tier === 'flex' ? input.timeouts.flexMs : input.timeouts.standardMs;
  const timeoutMs = input.deadlineS === undefined ? tierTimeout : Math.min(tierTimeout, Math.ceil(input.deadlineS * 1000));
  return { tier: choice.tier, reason: choice.reason, flexFallback: input.policy.flex_fallback ?? true, timeoutMs };
}
