import type { Services } from '../gateway/services';
import { newId } from '../util/ids';
import type { EventType } from '../webhooks/event-types';
import { enqueueEvent, eventIdFor } from '../webhooks/outbox';
import { alertKeysFor } from './alerts';
import { listBudgetRules, shareOf, type BudgetRule } from './budgets';
import { forecastBucketMs, forecastSpend } from './forecast';
import { nusdToUsd } from './money';
import { isoOrNull, periodBounds, type PeriodBounds } from './periods';
import { budgetAlerts } from './schema';
import { spendByBucket, spendInPeriod, topSpenders, type Spender } from './spend';

type AlertKind = 'threshold' | 'forecast' | 'blocked';

const EVENT_FOR: Record<AlertKind, EventType> = {
  threshold: 'budget.threshold_crossed',
  forecast: 'budget.forecast_exceeded',
  blocked: 'budget.blocked',
};

const FULL = 10_000;

interface Facts {
  spend: number;
  forecast: number | null;
  top: Spender[];
}

/** Projected period-end spend from the ledger, or null (see forecast.ts). */
async function forecastFor(services: Services, rule: BudgetRule, bounds: PeriodBounds, now: number): Promise<number | null> {
  const bucketMs = forecastBucketMs(rule.period);
  if (bucketMs === null || bounds.end === null || now >= bounds.end || now <= bounds.start) return null;
  const series = await spendByBucket(services.deps.db, rule.scope, bounds, bucketMs, now);
  return forecastSpend(bounds, now, series, bucketMs);
}

/**
 * Raises one alert: the alert row and its webhook event commit together, both keyed by
 * (budget, period, kind, threshold), so however many instances or job runs race here, the alert
 * and its deliveries exist exactly once.
 */
async function raiseAlert(services: Services, rule: BudgetRule, bounds: PeriodBounds, kind: AlertKind, thresholdBp: number, facts: Facts): Promise<boolean> {
  const { db, clock } = services.deps;
  const now = clock.now();
  const key = `budget-alert:${rule.id}:${bounds.start}:${kind}:${thresholdBp}`;
  const alert = db
    .insert(budgetAlerts)
    .values({
      id: newId('alr', now),
      budgetId: rule.id,
      periodStart: bounds.start,
      periodEnd: bounds.end,
      kind,
      thresholdBp,
      budgetName: rule.name,
      spendNusd: facts.spend,
      amountNusd: rule.amountNusd,
      forecastNusd: facts.forecast,
      topSpenders: JSON.stringify(facts.top),
      eventId: await eventIdFor(key),
      createdAt: now,
    })
    .onConflictDoNothing();
  const data = {
    budget_id: rule.id,
    budget_name: rule.name,
    scope: { type: rule.scope.type, value: rule.scope.value ?? null },
    period: rule.period,
    threshold: thresholdBp / FULL,
    spend_usd: nusdToUsd(facts.spend),
    spend_nusd: facts.spend,
    amount_usd: nusdToUsd(rule.amountNusd),
    amount_nusd: rule.amountNusd,
    period_start: new Date(bounds.start).toISOString(),
    period_end: isoOrNull(bounds.end),
    forecast_usd: facts.forecast === null ? null : nusdToUsd(facts.forecast),
    top_spenders: facts.top,
    ...(kind === 'blocked' ? { resets_at: isoOrNull(bounds.end) } : {}),
  };
  const event = await enqueueEvent(services, EVENT_FOR[kind], data, {
    idempotencyKey: key,
    alongside: [alert],
    ...(rule.webhookIds.length > 0 ? { endpointIds: rule.webhookIds } : {}),
  });
  return event.created;
}

/**
 * Checks one budget's period (the one containing `anchorMs`) against the database and raises the
 * alerts it is owed and does not have yet: crossed thresholds, and the forecast alert when the
 * projection passes the amount before the period ends. Returns the alert keys that now exist and
 * how many of them this call raised.
 */
export async function evaluateBudget(services: Services, rule: BudgetRule, anchorMs: number): Promise<{ keys: string[]; raised: number }> {
  const { db, clock } = services.deps;
  const bounds = periodBounds(rule.period, anchorMs);
  const now = clock.now();
  const [spend, existingKeys] = await Promise.all([
    spendInPeriod(db, rule.scope, bounds),
    alertKeysFor(db, [{ budgetId: rule.id, periodStart: bounds.start }]).then((m) => m.get(rule.id) ?? []),
  ]);
  const existing = new Set(existingKeys);
  const due: Array<{ kind: AlertKind; bp: number }> = rule.thresholdsBp
    .filter((bp) => spend >= shareOf(rule.amountNusd, bp) && !existing.has(`threshold:${bp}`))
    .map((bp) => ({ kind: 'threshold', bp }));
  const wantsForecast = rule.forecastAlert && !existing.has(`forecast:${FULL}`) && spend < rule.amountNusd;
  const forecast = due.length > 0 || wantsForecast ? await forecastFor(services, rule, bounds, now) : null;
  if (wantsForecast && forecast !== null && forecast >= rule.amountNusd) due.push({ kind: 'forecast', bp: FULL });
  if (due.length === 0) return { keys: [...existing], raised: 0 };
  const facts: Facts = { spend, forecast, top: await topSpenders(db, rule.scope, bounds) };
  let raised = 0;
  for (const alert of due) {
    if (await raiseAlert(services, rule, bounds, alert.kind, alert.bp, facts)) raised++;
    existing.add(`${alert.kind}:${alert.bp}`);
  }
  return { keys: [...existing], raised };
}

/** Raises the period's `budget.blocked` alert for a budget that just refused a request (once per period). */
export async function raiseBlockedAlert(services: Services, rule: BudgetRule, anchorMs: number): Promise<string[]> {
  const { db } = services.deps;
  const bounds = periodBounds(rule.period, anchorMs);
  const [spend, top] = await Promise.all([spendInPeriod(db, rule.scope, bounds), topSpenders(db, rule.scope, bounds)]);
  await raiseAlert(services, rule, bounds, 'blocked', FULL, { spend, forecast: null, top });
  return [`blocked:${FULL}`];
}

/** How long after a period ends its late commits are still checked by the scheduled job. */
const GRACE_MS = 3_600_000;

/** The `budgets` job: every budget's current period (and one that ended within the hour) against the ledger. */
export async function evaluateAllBudgets(services: Services, scheduledAt: number): Promise<string> {
  const rules = await listBudgetRules(services.deps.db);
  let raised = 0;
  for (const rule of rules) {
    const anchors = [scheduledAt];
    const { start } = periodBounds(rule.period, scheduledAt);
    if (start > 0 && scheduledAt - start < GRACE_MS) anchors.push(start - 1);
    for (const anchor of anchors) raised += (await evaluateBudget(services, rule, anchor)).raised;
  }
  return `${rules.length} budgets evaluated, ${raised} alerts raised`;
}
