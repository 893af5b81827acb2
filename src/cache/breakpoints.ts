import { PrefixHash } from './hash';

/**
 * Where provider prompt-cache breakpoints go, independent of the wire shape (Anthropic
 * `cache_control`, Bedrock Converse `cachePoint`). A prompt is walked in the provider's cache
 * order (tools, system, messages) as a list of units (a tool, a system block, a content block);
 * a breakpoint after a unit caches everything up to it.
 *
 * Candidates, most valuable first:
 *  - `prefix`: the end of the system prompt (or of the tools when there is none): what every
 *    request of an application repeats;
 *  - `turn`: the end of the conversation before the final user turn (the stable history), and
 *    the end of the history one turn earlier, which is where the previous request of the same
 *    conversation wrote, so its entry is read even beyond the provider's lookback window.
 * The caller's own breakpoints are kept and count toward the provider's limit of four; a
 * candidate below the model's minimum cacheable length is skipped (the provider would ignore it).
 */

export type CacheTtl = '5m' | '1h';
export type BreakpointSlot = 'prefix' | 'turn';

export const MAX_BREAKPOINTS = 4;

/** One cacheable unit of a prompt. */
export interface PromptUnit {
  /** Estimated tokens. */
  tokens: number;
  /**
   * Canonical text of the unit without any cache marker, including what makes two units differ
   * (section, role). Computed only for units up to the last candidate: the newest turn (often
   * the largest, with images) is never serialized for hashing.
   */
  identity(): string;
  /** The caller's breakpoint on this unit, if any. */
  callerTtl: CacheTtl | null;
  /** Whether the provider accepts a breakpoint here (not on thinking or empty text). */
  cacheable: boolean;
}

export interface PromptWalk {
  units: PromptUnit[];
  /** Index of the last unit of the system prompt, or of the tools when there is no system prompt. */
  prefixEnd: number | undefined;
  /** Index of the last cacheable unit of each assistant turn that a user turn follows, before the final message; ascending. */
  turnEnds: number[];
  /** A request-wide automatic breakpoint on the last unit (Anthropic's top-level `cache_control`). */
  automaticTtl: CacheTtl | null;
}

export interface BreakpointCandidate {
  slot: BreakpointSlot;
  /** Digest of the prefix up to and including the unit: identifies the cache entry. */
  hash: string;
  /** Estimated tokens of that prefix. */
  tokens: number;
}

export interface PlacedBreakpoint extends BreakpointCandidate {
  unit: number;
  ttl: CacheTtl;
}

export interface PlacementOptions {
  /** The model's minimum cacheable prefix, in tokens. */
  minTokens: number;
  /** Seeds the digests (provider caches are per model). */
  seed: string;
  /** Whether, and for how long, to cache at a candidate; by default every candidate for 5 minutes. */
  decide?: (candidate: BreakpointCandidate) => CacheTtl | null;
}

export interface BreakpointPlan {
  placed: PlacedBreakpoint[];
  /** Every candidate considered, placed or not (the bookkeeping observes them all). */
  candidates: BreakpointCandidate[];
  /** Estimated tokens of the whole prompt. */
  totalTokens: number;
}

/** A rough local token estimate: about four characters a token. */
export function estimateTextTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** Chooses our breakpoints for a walked prompt. Pure: the same walk and options give the same plan. */
export function planBreakpoints(walk: PromptWalk, options: PlacementOptions): BreakpointPlan {
  const { units } = walk;
  const positions: Array<{ unit: number; slot: BreakpointSlot }> = [];
  if (walk.prefixEnd !== undefined) positions.push({ unit: walk.prefixEnd, slot: 'prefix' });
  for (const unit of walk.turnEnds.slice(-2).reverse()) positions.push({ unit, slot: 'turn' });

  const lastCandidate = Math.max(-1, ...positions.map((p) => p.unit));
  const hashes: string[] = [];
  const ends: number[] = [];
  const hash = new PrefixHash(options.seed);
  let total = 0;
  units.forEach((unit, i) => {
    if (i <= lastCandidate) {
      hash.update(unit.identity()).update('\u0001');
      hashes.push(hash.digest());
    }
    total += unit.tokens;
    ends.push(total);
  });

  const last = units.length - 1;
  const callerCount = units.filter((u) => u.callerTtl !== null).length + (walk.automaticTtl && units[last]?.callerTtl === null ? 1 : 0);
  let budget = MAX_BREAKPOINTS - callerCount;
  const candidates: BreakpointCandidate[] = [];
  const placed: PlacedBreakpoint[] = [];
  for (const { unit, slot } of positions) {
    const target = units[unit];
    if (!target) continue;
    const candidate: BreakpointCandidate = { slot, hash: hashes[unit] as string, tokens: ends[unit] as number };
    candidates.push(candidate);
    if (budget <= 0 || !target.cacheable || target.callerTtl !== null || candidate.tokens < options.minTokens) continue;
    if (placed.some((p) => p.unit === unit)) continue;
    const ttl = options.decide ? options.decide(candidate) : '5m';
    if (ttl === null) continue;
    placed.push({ ...candidate, unit, ttl });
    budget--;
  }
  placed.sort((a, b) => a.unit - b.unit);
  orderTtls(placed, walk);
  return { placed, candidates, totalTokens: total };
}

/**
 * Providers reject a 1-hour breakpoint after a 5-minute one. Ours follow the caller's: one after
 * a 5-minute breakpoint is 5 minutes; one before a caller's 1-hour breakpoint is 1 hour, which
 * costs nothing extra (those tokens would be written for an hour by the caller's entry anyway).
 */
function orderTtls(placed: PlacedBreakpoint[], walk: PromptWalk): void {
  const caller = walk.units.flatMap((unit, i) => (unit.callerTtl ? [{ unit: i, ttl: unit.callerTtl }] : []));
  const last = walk.units.length - 1;
  if (walk.automaticTtl && walk.units[last]?.callerTtl === null) caller.push({ unit: last, ttl: walk.automaticTtl });
  let earlier5m = false;
  for (const ours of placed) {
    if (earlier5m || caller.some((c) => c.unit < ours.unit && c.ttl === '5m')) ours.ttl = '5m';
    else if (caller.some((c) => c.unit > ours.unit && c.ttl === '1h')) ours.ttl = '1h';
    if (ours.ttl === '5m') earlier5m = true;
  }
}
