import type { CatalogStore } from '../catalog/store';
import type { ServiceTier } from '../catalog/types';
import type { Deps } from '../deps';
import { SluiceError } from '../errors';
import { callTags, type ChatCall } from '../gateway/handle-chat';
import { ZERO_USAGE } from '../gateway/usage';
import { effectivePolicy } from '../keys/policy';
import { priceUsage } from '../ledger/pricing';
import type { LedgerEvent } from '../ledger/writer';
import { Counter as MetricCounter, type Metrics } from '../ops/metrics';
import type { RouteDecision } from '../routing/resolve';
import { alertKeysFor } from './alerts';
import { listBudgetRules, shareOf, type BudgetRule } from './budgets';
import { downgradeLadder, reservedPromptTokens, worstCaseNusd, type Rung } from './ladder';
import { nusdToUsd, usdLabel } from './money';
import { periodBounds } from './periods';
import { describeScope, scopeMatches, type Spender } from './scope';
import { spendInPeriod } from './spend';

/**
 * One budget's spend in one period as this instance knows it. `base` is committed spend: the
 * database's sum at the last reconcile plus this instance's commits since; `unflushed` is spend
 * recorded here but not yet committed; `reserved` is the worst case of requests in flight here.
 */
export interface PeriodCounter {
  rule: BudgetRule;
  start: number;
  end: number | null;
  thresholdsNusd: number[];
  base: number;
  unflushed: number;
  reserved: number;
  /** Monotonic sum of local commits, to correct a reconcile that raced with a commit. */
  committedLocally: number;
  /** Alerts known to exist for this period: `threshold:8000`, `forecast:10000`, `blocked:10000`. */
  known: Set<string>;
  evaluating: boolean;
  evaluateAgain: boolean;
  /** A ledger flush was asked for because recorded spend crossed a threshold (cleared by the evaluation). */
  flushAsked: boolean;
}

function spendOf(c: PeriodCounter): number {
  return c.base + c.unflushed;
}

export interface BudgetHooks {
  /** Verifies crossings against the database and raises the missing alerts; resolves to the alert keys that exist. */
  evaluate(rule: BudgetRule, anchorMs: number): Promise<string[]>;
  /** Raises the period's `budget.blocked` alert (at most once); resolves to the alert keys that exist. */
  blocked(rule: BudgetRule, anchorMs: number): Promise<string[]>;
  /** Commits the ledger buffer now (a crossing waits for its commit, so the alert is not held for the flush interval). */
  flush(): Promise<void>;
  /** Runs a read of committed spend while no ledger commit is under way (LedgerWriter.betweenCommits). */
  betweenCommits<T>(read: () => Promise<T>): Promise<T>;
}

export interface BudgetStatus {
  period_start: string;
  period_end: string | null;
  spend_nusd: number;
  reserved_nusd: number;
  remaining_nusd: number;
  spend_usd: number;
  /** ok | downgrading | blocking (block and downgrade budgets) | over (alert budgets past 100%) */
  state: 'ok' | 'downgrading' | 'blocking' | 'over';
}

export const alertKey = (kind: string, bp: number): string => `${kind}:${bp}`;

/** What the budgets decided for one request (see `BudgetEnforcer.admit`). */
export interface Decision {
  decision: RouteDecision;
  tier: ServiceTier;
  /** Every budget the request falls under (alert budgets included): its spend is counted in each. */
  counters: readonly PeriodCounter[];
  /** The block and downgrade budgets holding `reservedNusd` for it. */
  holding: readonly PeriodCounter[];
  reservedNusd: number;
  promptTokens: number;
  /** Set when a budget refuses the request: the 429 to answer, after one `blocked` ledger row. */
  refusal?: SluiceError;
  /** `x-sluice-budget` when a budget refused or downgraded the request. */
  headers: Readonly<Record<string, string>>;
  /** `use` when a downgrade budget is acting: the response cache is the ladder's first rung. */
  cacheHint?: 'use';
}

/** What the budgets decided for one request; `settle` or `release` must follow exactly once. */
export class Admission {
  private open = true;
  readonly decision: RouteDecision;
  readonly tier: ServiceTier;
  readonly refusal: SluiceError | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly cacheHint: 'use' | undefined;

  constructor(
    private readonly enforcer: BudgetEnforcer | undefined,
    private readonly parts: Decision,
  ) {
    this.decision = parts.decision;
    this.tier = parts.tier;
    this.refusal = parts.refusal;
    this.headers = parts.headers;
    this.cacheHint = parts.cacheHint;
  }

  /** Counts the request's ledger event against its budgets and returns its reservation. */
  settle(event: LedgerEvent): void {
    if (!this.open) return;
    this.release();
    this.enforcer?.recorded(event, this.parts.counters);
  }

  /** Returns the reservation without counting anything (the request ended before it was recorded). */
  release(): void {
    if (!this.open) return;
    this.open = false;
    for (const c of this.parts.holding) c.reserved -= this.parts.reservedNusd;
  }

  /**
   * For a stream in flight: the error to cut it with, when a budget with `cut_streams` would be
   * overrun by what the stream has produced so far (others' spend and reservations included).
   */
  cutStream(outputChars: number): SluiceError | undefined {
    if (!this.open || !this.enforcer) return undefined;
    const { holding, reservedNusd, promptTokens } = this.parts;
    for (const c of holding) {
      if (!c.rule.cutStreams) continue;
      const usage = { ...ZERO_USAGE, inputTokens: promptTokens, outputTokens: Math.ceil(outputChars / 4) };
      const running = priceUsage(this.decision.model.rates, this.tier, usage);
      if (spendOf(c) + c.reserved - reservedNusd + running > c.rule.amountNusd) return this.enforcer.cut(c, reservedNusd, running);
    }
    return undefined;
  }
}

const PERIOD_NAMES = { day: 'today', week: 'this week', month: 'this month', total: 'in total' } as const;

/**
 * Budgets on the request path without a database round trip per request: counters per (budget,
 * period) seeded from the database, moved by this instance's ledger commits, and reconciled with
 * the database every `budgetReconcileMs` (lazily, from the request path, so it works the same on
 * Workers), which folds in other instances' spend. Before the upstream call a request reserves
 * its worst-case cost in every block and downgrade budget it falls under; `settle` swaps the
 * reservation for the recorded cost. See src/budgets/README.md for the overshoot bound.
 */
export class BudgetEnforcer {
  private counters = new Map<string, PeriodCounter>();
  private byScope = new Map<string, PeriodCounter[]>();
  private global: PeriodCounter[] = [];
  private hasTagBudgets = false;
  /** Events recorded here and not yet committed, with the counters they were counted in. */
  private readonly pending = new Map<string, { cost: number; counters: readonly PeriodCounter[] }>();
  private lastReconcileAt = Number.NEGATIVE_INFINITY;
  private reconciling: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private readonly actions: MetricCounter;

  constructor(
    private readonly deps: Deps,
    private readonly catalog: CatalogStore,
    private readonly hooks: BudgetHooks,
    metrics: Metrics,
  ) {
    this.actions = metrics.add(new MetricCounter('sluice_budget_actions_total', 'Requests a budget acted on, by action (blocked, downgraded, cut).'));
  }

  /** Loads the budgets and seeds the counters (call once before serving). */
  start(): Promise<void> {
    return this.refresh();
  }

  /**
   * Re-reads budgets and spend from the database (after a budget was created, changed or deleted
   * here). Resolves after a reconcile that started after the call: one already running may have
   * read the budgets before the change, so another is queued behind it (shared by all who wait).
   */
  refresh(): Promise<void> {
    if (!this.reconciling) {
      this.reconciling = this.reconcile().finally(() => {
        this.reconciling = undefined;
      });
      return this.reconciling;
    }
    this.queued ??= this.reconciling
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.refresh();
      });
    return this.queued;
  }

  status(budgetId: string): BudgetStatus | undefined {
    const c = this.counters.get(budgetId);
    if (!c) return undefined;
    this.roll(c, this.deps.clock.now());
    const current = this.counters.get(budgetId)!;
    const spend = spendOf(current);
    const { rule } = current;
    const used = spend + current.reserved;
    const state =
      rule.action === 'alert'
        ? spend >= rule.amountNusd
          ? 'over'
          : 'ok'
        : used >= rule.amountNusd
          ? 'blocking'
          : rule.downgradeAtNusd !== null && used >= rule.downgradeAtNusd
            ? 'downgrading'
            : 'ok';
    return {
      period_start: new Date(current.start).toISOString(),
      period_end: current.end === null ? null : new Date(current.end).toISOString(),
      spend_nusd: spend,
      reserved_nusd: current.reserved,
      remaining_nusd: Math.max(0, rule.amountNusd - spend),
      spend_usd: nusdToUsd(spend),
      state,
    };
  }

  /**
   * Decides a request against its budgets: refuse (a block or downgrade budget is used up), step
   * the route down the ladder (a downgrade budget is past `downgrade_at`, or the request's worst
   * case would not fit), or let it through; then reserves the worst case. Synchronous, so the
   * check and the reservation cannot interleave with another request's.
   */
  admit(call: ChatCall, decision: RouteDecision, tier: ServiceTier): Admission {
    const now = this.deps.clock.now();
    if (now - this.lastReconcileAt >= this.deps.config.budgetReconcileMs) this.deps.defer(this.refresh());
    const pass = { decision, tier, counters: [], holding: [], reservedNusd: 0, promptTokens: 0, headers: {} };
    if (this.counters.size === 0) return new Admission(undefined, pass);
    const matched = this.matching(
      {
        keyId: call.principal.keyId,
        user: call.principal.user,
        team: call.principal.team,
        project: call.principal.project,
        tags: this.hasTagBudgets ? callTags(call) : {},
      },
      now,
    );
    const enforcing = matched.filter((c) => c.rule.action !== 'alert');
    if (enforcing.length === 0) return new Admission(this, { ...pass, counters: matched });

    const exhausted = enforcing.find((c) => spendOf(c) + c.reserved >= c.rule.amountNusd);
    if (exhausted) {
      this.actions.inc({ action: 'blocked' });
      this.noteBlocked(exhausted);
      return new Admission(this, {
        ...pass,
        counters: matched,
        refusal: this.refusalFor(exhausted, now),
        headers: { 'x-sluice-budget': exhausted.rule.id },
        // An exhausted downgrade budget still answers from the response cache (free) before refusing.
        ...(exhausted.rule.action === 'downgrade' ? this.cacheRung(call) : {}),
      });
    }

    const promptTokens = reservedPromptTokens(call.request);
    const downgrading = enforcing.filter((c) => c.rule.action === 'downgrade');
    let chosen: Rung = { model: decision.model, tier, worstNusd: worstCaseNusd(decision.model, tier, call.request, promptTokens) };
    let steppedFor: PeriodCounter | undefined;
    if (downgrading.length > 0) {
      const ladder = downgradeLadder(this.catalog.current, decision, tier, call.request, call.principal, promptTokens);
      const headroom = Math.min(...downgrading.map((c) => c.rule.amountNusd - spendOf(c) - c.reserved));
      steppedFor = downgrading.find((c) => spendOf(c) + c.reserved >= (c.rule.downgradeAtNusd ?? c.rule.amountNusd));
      const lowest = steppedFor && ladder.length > 1 ? 1 : 0;
      chosen = ladder.find((rung, i) => i >= lowest && rung.worstNusd <= headroom) ?? ladder[ladder.length - 1]!;
      steppedFor ??= downgrading.find((c) => c.rule.amountNusd - spendOf(c) - c.reserved < ladder[0]!.worstNusd);
    }
    for (const c of enforcing) c.reserved += chosen.worstNusd;
    const downgraded = chosen.model !== decision.model || chosen.tier !== tier;
    const reserved = { counters: matched, holding: enforcing, reservedNusd: chosen.worstNusd, promptTokens };
    const cacheRung = steppedFor ? this.cacheRung(call) : {};
    if (!downgraded) return new Admission(this, { ...pass, ...reserved, ...cacheRung });
    this.actions.inc({ action: 'downgraded' });
    return new Admission(this, {
      ...reserved,
      decision: { ...decision, model: chosen.model, reason: 'budget' },
      tier: chosen.tier,
      headers: { 'x-sluice-budget': (steppedFor ?? downgrading[0]!).rule.id },
      ...cacheRung,
    });
  }

  /**
   * The ladder's first rung: under a downgrade budget the response cache answers any request it
   * holds, not only deterministic ones — unless the key's policy turned the cache off (an
   * explicit x-sluice-cache hint from the caller also wins).
   */
  private cacheRung(call: ChatCall): { cacheHint?: 'use' } {
    return effectivePolicy(this.deps.config.defaultPolicy, call.principal.policy).response_cache === 'off' ? {} : { cacheHint: 'use' };
  }

  /** Ledger commits (this instance's writer): move recorded spend to committed, count events recorded elsewhere in the process, detect crossings. */
  onCommit(events: readonly LedgerEvent[]): void {
    const touched = new Set<PeriodCounter>();
    for (const event of events) {
      const entry = this.pending.get(event.id);
      if (entry) this.pending.delete(event.id);
      const counters = entry?.counters ?? (event.costNusd > 0 ? this.matchingEvent(event) : []);
      for (const c of counters) {
        if (entry) c.unflushed -= entry.cost;
        c.base += event.costNusd;
        c.committedLocally += event.costNusd;
        touched.add(c);
      }
    }
    for (const c of touched) this.checkCrossings(c);
  }

  /** Called by `Admission.settle`: the event's spend counts now, as unflushed until its commit. */
  recorded(event: LedgerEvent, counters: readonly PeriodCounter[]): void {
    if (event.costNusd === 0 || counters.length === 0) return;
    this.pending.set(event.id, { cost: event.costNusd, counters });
    for (const c of counters) {
      c.unflushed += event.costNusd;
      if (!c.flushAsked && this.crossedUnknown(c, spendOf(c))) {
        c.flushAsked = true;
        this.deps.defer(this.hooks.flush());
      }
    }
  }

  /** The error that cuts a stream running past a budget (`ownReservation` and `runningNusd`: the stream's). */
  cut(c: PeriodCounter, ownReservation: number, runningNusd: number): SluiceError {
    this.actions.inc({ action: 'cut' });
    this.noteBlocked(c);
    const others = spendOf(c) + c.reserved - ownReservation;
    return this.refusalFor(
      c,
      this.deps.clock.now(),
      `The stream was cut off: it had used about ${usdLabel(runningNusd)}, which with ${usdLabel(others)} spent and reserved by other requests passes the budget. `,
    );
  }

  private refusalFor(c: PeriodCounter, now: number, prefix = ''): SluiceError {
    const { rule } = c;
    const spent = `${usdLabel(spendOf(c))} of ${usdLabel(rule.amountNusd)} spent ${PERIOD_NAMES[rule.period]}${c.reserved > 0 ? ` (plus ${usdLabel(c.reserved)} reserved by requests in flight)` : ''}`;
    const resets = c.end === null ? 'It is a total budget and does not reset' : `It resets at ${new Date(c.end).toISOString()}`;
    const headers: Record<string, string> = { 'x-should-retry': 'false', 'x-sluice-budget': rule.id };
    if (c.end !== null) headers['retry-after'] = String(Math.max(1, Math.ceil((c.end - now) / 1000)));
    return new SluiceError(
      'budget_exceeded',
      `${prefix}Budget "${rule.name}" (${rule.id}, ${describeScope(rule.scope)}) is used up: ${spent}. ${resets}; an admin can raise it with PATCH /admin/budgets/${rule.id}.`,
      { headers },
    );
  }

  private noteBlocked(c: PeriodCounter): void {
    const key = alertKey('blocked', 10_000);
    if (c.known.has(key)) return;
    // Known at once, so a burst of refusals raises it once; forgotten again if raising it failed.
    c.known.add(key);
    this.deps.defer(
      this.track(
        c,
        this.hooks.blocked(c.rule, c.start).catch((error: unknown) => {
          c.known.delete(key);
          throw error;
        }),
      ),
    );
  }

  /** Whether `spend` has passed a threshold this instance knows no alert for. */
  private crossedUnknown(c: PeriodCounter, spend: number): boolean {
    return c.thresholdsNusd.some((amount, i) => spend >= amount && !c.known.has(alertKey('threshold', c.rule.thresholdsBp[i]!)));
  }

  /** Committed spend past an unalerted threshold: verify against the database and raise the alert. */
  private checkCrossings(c: PeriodCounter): void {
    if (this.crossedUnknown(c, c.base)) this.evaluate(c);
  }

  private evaluate(c: PeriodCounter): void {
    if (c.evaluating) {
      c.evaluateAgain = true;
      return;
    }
    c.evaluating = true;
    const run = this.track(c, this.hooks.evaluate(c.rule, c.start)).finally(() => {
      c.evaluating = false;
      c.flushAsked = false;
      if (c.evaluateAgain) {
        c.evaluateAgain = false;
        this.checkCrossings(c);
      }
    });
    this.deps.defer(run);
  }

  private async track(c: PeriodCounter, keys: Promise<string[]>): Promise<void> {
    try {
      for (const key of await keys) c.known.add(key);
    } catch (error) {
      this.deps.logger.error('budgets: alert evaluation failed', { budget_id: c.rule.id, error: (error as Error).message });
    }
  }

  private newCounter(rule: BudgetRule, now: number): PeriodCounter {
    const bounds = periodBounds(rule.period, now);
    return {
      rule,
      start: bounds.start,
      end: bounds.end,
      thresholdsNusd: rule.thresholdsBp.map((bp) => shareOf(rule.amountNusd, bp)),
      base: 0,
      unflushed: 0,
      reserved: 0,
      committedLocally: 0,
      known: new Set(),
      evaluating: false,
      evaluateAgain: false,
      flushAsked: false,
    };
  }

  /** Starts a new period when the clock has passed the counter's end; the next reconcile seeds it. */
  private roll(c: PeriodCounter, now: number): PeriodCounter {
    if (c.end === null || now < c.end) return c;
    const next = this.newCounter(c.rule, now);
    this.counters.set(c.rule.id, next);
    this.index();
    this.deps.defer(this.refresh());
    return next;
  }

  private index(): void {
    this.byScope = new Map();
    this.global = [];
    this.hasTagBudgets = false;
    for (const c of this.counters.values()) {
      if (c.rule.scope.type === 'global') {
        this.global.push(c);
        continue;
      }
      if (c.rule.scope.type === 'tag') this.hasTagBudgets = true;
      const key = `${c.rule.scope.type}\u0000${c.rule.scope.value ?? ''}`;
      const list = this.byScope.get(key) ?? [];
      list.push(c);
      this.byScope.set(key, list);
    }
  }

  private matching(spender: Spender, now: number): PeriodCounter[] {
    const keys = [`key\u0000${spender.keyId}`];
    if (spender.user !== null) keys.push(`user\u0000${spender.user}`);
    if (spender.team !== null) keys.push(`team\u0000${spender.team}`);
    if (spender.project !== null) keys.push(`project\u0000${spender.project}`);
    for (const [name, value] of Object.entries(spender.tags)) keys.push(`tag\u0000${name}=${value}`);
    const found: PeriodCounter[] = [];
    for (const c of this.global) found.push(this.roll(c, now));
    for (const key of keys) for (const c of this.byScope.get(key) ?? []) found.push(this.roll(c, now));
    return found;
  }

  /** Counters an already recorded event belongs to: scope and the period containing its time. */
  private matchingEvent(event: LedgerEvent): PeriodCounter[] {
    const tags = this.hasTagBudgets ? (JSON.parse(event.tags) as Record<string, string>) : {};
    const spender: Spender = { keyId: event.keyId, user: event.user, team: event.team, project: event.project, tags };
    return [...this.counters.values()].filter((c) => event.time >= c.start && (c.end === null || event.time < c.end) && scopeMatches(c.rule.scope, spender));
  }

  /**
   * Reloads the budgets and sets every counter's committed spend from the database, read between
   * this instance's ledger commits; its commits after the read are added on top, so none is lost
   * or counted twice.
   */
  private async reconcile(): Promise<void> {
    const now = this.deps.clock.now();
    this.lastReconcileAt = now;
    const rules = await listBudgetRules(this.deps.db);
    const next = new Map<string, PeriodCounter>();
    for (const rule of rules) {
      const existing = this.counters.get(rule.id);
      const bounds = periodBounds(rule.period, now);
      const same = existing && existing.start === bounds.start && existing.rule.period === rule.period && existing.rule.scope.type === rule.scope.type && existing.rule.scope.value === rule.scope.value;
      if (existing && same) {
        existing.rule = rule;
        existing.thresholdsNusd = rule.thresholdsBp.map((bp) => shareOf(rule.amountNusd, bp));
        next.set(rule.id, existing);
      } else next.set(rule.id, this.newCounter(rule, now));
    }
    const counters = [...next.values()];
    // No commit lands while the sums are read, so `marks` and the sums agree on which commits they
    // include; later commits are added on top, each once.
    const { marks, sums, known } = await this.hooks.betweenCommits(async () => {
      const marks = counters.map((c) => c.committedLocally);
      const [sums, known] = await Promise.all([
        Promise.all(counters.map((c) => spendInPeriod(this.deps.db, c.rule.scope, c))),
        alertKeysFor(this.deps.db, counters.map((c) => ({ budgetId: c.rule.id, periodStart: c.start }))),
      ]);
      return { marks, sums, known };
    });
    counters.forEach((c, i) => {
      c.base = sums[i]! + (c.committedLocally - marks[i]!);
      for (const key of known.get(c.rule.id) ?? []) c.known.add(key);
    });
    this.counters = next;
    this.index();
    for (const c of counters) this.checkCrossings(c);
  }
}
