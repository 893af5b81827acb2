import { desc, eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/client';
import { SluiceError } from '../errors';
import { fromZodError } from '../http/errors';
import { newId } from '../util/ids';
import { missingEndpoints } from '../webhooks/endpoints';
import { hasAtMostNineDecimals, MAX_AMOUNT_USD, nusdToUsd, usdToNusd } from './money';
import { PERIODS, type Period } from './periods';
import { budgets } from './schema';
import { SCOPE_TYPES, describeScope, type Scope } from './scope';

export const ACTIONS = ['alert', 'block', 'downgrade'] as const;
export type BudgetAction = (typeof ACTIONS)[number];

const DEFAULT_THRESHOLDS = [0.5, 0.8, 1];
const DEFAULT_DOWNGRADE_AT = 0.8;
const TAG_SCOPE = /^[A-Za-z0-9_.:-]{1,64}=.{1,256}$/;
const BP = 10_000;

const Fraction = (what: string, max: number) =>
  z
    .number()
    .gt(0, `${what} must be above 0`)
    .max(max, `${what} may be at most ${max}`)
    .refine((f) => Number.isInteger(Math.round(f * BP * 1e6) / 1e6), `${what} has at most four decimals (0.8, 0.875)`);

const BudgetFields = z.object({
  name: z.string().trim().min(1).max(128),
  scope: z
    .object({ type: z.enum(SCOPE_TYPES), value: z.string().trim().min(1).max(320).optional() })
    .strict(),
  period: z.enum(PERIODS),
  amount_usd: z
    .number()
    .positive('amount_usd must be above 0')
    .max(MAX_AMOUNT_USD, `amount_usd may be at most ${MAX_AMOUNT_USD}`)
    .refine(hasAtMostNineDecimals, 'amount_usd has at most nine decimals (nano-USD)'),
  thresholds: z.array(Fraction('a threshold', 10)).max(10, 'at most 10 thresholds'),
  action: z.enum(ACTIONS),
  forecast_alert: z.boolean(),
  webhook_ids: z.array(z.string().min(1)).max(20),
  downgrade_at: Fraction('downgrade_at', 1).refine((f) => f < 1, 'downgrade_at must be below 1'),
  cut_streams: z.boolean(),
});

function checkCombination(input: z.infer<typeof BudgetInput>, ctx: z.RefinementCtx): void {
  const { scope } = input;
  if (scope.type === 'global' && scope.value !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['scope', 'value'], message: 'a global budget has no scope value' });
  }
  if (scope.type !== 'global' && scope.value === undefined) {
    ctx.addIssue({ code: 'custom', path: ['scope', 'value'], message: `a ${scope.type} budget needs scope.value (the ${scope.type === 'tag' ? 'tag as k=v' : scope.type === 'key' ? 'key id' : scope.type})` });
  }
  if (scope.type === 'tag' && scope.value !== undefined && !TAG_SCOPE.test(scope.value)) {
    ctx.addIssue({ code: 'custom', path: ['scope', 'value'], message: 'a tag scope is name=value (names: letters, digits, _ . : -)' });
  }
  if (input.downgrade_at !== undefined && input.action !== 'downgrade') {
    ctx.addIssue({ code: 'custom', path: ['downgrade_at'], message: 'downgrade_at applies only to action "downgrade"' });
  }
  if (input.cut_streams === true && input.action === 'alert') {
    ctx.addIssue({ code: 'custom', path: ['cut_streams'], message: 'cut_streams applies only to "block" and "downgrade" budgets' });
  }
  if (input.thresholds !== undefined && new Set(input.thresholds).size !== input.thresholds.length) {
    ctx.addIssue({ code: 'custom', path: ['thresholds'], message: 'thresholds must not repeat' });
  }
}

/** `POST /admin/budgets` (DESIGN.md), plus `downgrade_at` and `cut_streams`. */
export const BudgetInput = BudgetFields.partial({
  name: true,
  thresholds: true,
  forecast_alert: true,
  webhook_ids: true,
  downgrade_at: true,
  cut_streams: true,
})
  .strict()
  .superRefine(checkCombination);
export type BudgetInput = z.infer<typeof BudgetInput>;

/** `PATCH /admin/budgets/{id}`: any field; the merged budget is validated like a new one. */
export const BudgetPatch = BudgetFields.partial().strict();
export type BudgetPatch = z.infer<typeof BudgetPatch>;

/** A budget as the enforcer and the evaluator use it: integers only. */
export interface BudgetRule {
  id: string;
  name: string;
  scope: Scope;
  period: Period;
  amountNusd: number;
  /** Ascending basis points of the amount. */
  thresholdsBp: number[];
  action: BudgetAction;
  /** Spend (nano-USD) from which a downgrade budget steps requests down; null for other actions. */
  downgradeAtNusd: number | null;
  downgradeAtBp: number | null;
  cutStreams: boolean;
  forecastAlert: boolean;
  webhookIds: string[];
  createdAt: number;
  updatedAt: number;
}

type BudgetRow = typeof budgets.$inferSelect;

/**
 * The least whole spend (nano-USD) that reaches `bp` of an amount, so `spend >= shareOf(...)` is
 * exactly `spend >= amount × bp / 10000`. Rounded up, not down: 50% of a 1 nano-USD budget is 1,
 * not 0, or a period with no spend at all would cross it. BigInt: amount × bp may pass 2^53.
 */
export function shareOf(amountNusd: number, bp: number): number {
  const product = BigInt(amountNusd) * BigInt(bp);
  const whole = BigInt(BP);
  return Number((product + whole - 1n) / whole);
}

export function ruleFromRow(row: BudgetRow): BudgetRule {
  const scope: Scope = row.scopeValue === null ? { type: row.scopeType as Scope['type'] } : { type: row.scopeType as Scope['type'], value: row.scopeValue };
  return {
    id: row.id,
    name: row.name,
    scope,
    period: row.period as Period,
    amountNusd: row.amountNusd,
    thresholdsBp: JSON.parse(row.thresholdsBp) as number[],
    action: row.action as BudgetAction,
    downgradeAtBp: row.downgradeAtBp,
    downgradeAtNusd: row.downgradeAtBp === null ? null : shareOf(row.amountNusd, row.downgradeAtBp),
    cutStreams: row.cutStreams,
    forecastAlert: row.forecastAlert,
    webhookIds: JSON.parse(row.webhookIds) as string[],
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

const PERIOD_WORDS: Record<Period, string> = { day: 'daily', week: 'weekly', month: 'monthly', total: 'total' };

function rowFromInput(id: string, input: BudgetInput, createdAt: number, updatedAt: number): BudgetRow {
  const bp = (f: number): number => Math.round(f * BP);
  return {
    id,
    name: input.name ?? `${PERIOD_WORDS[input.period]} ${describeScope(input.scope)}`,
    scopeType: input.scope.type,
    scopeValue: input.scope.value ?? null,
    period: input.period,
    amountNusd: usdToNusd(input.amount_usd),
    thresholdsBp: JSON.stringify([...(input.thresholds ?? DEFAULT_THRESHOLDS)].map(bp).sort((a, b) => a - b)),
    action: input.action,
    downgradeAtBp: input.action === 'downgrade' ? bp(input.downgrade_at ?? DEFAULT_DOWNGRADE_AT) : null,
    cutStreams: input.cut_streams ?? false,
    forecastAlert: input.forecast_alert ?? false,
    webhookIds: JSON.stringify([...new Set(input.webhook_ids ?? [])]),
    createdAt,
    updatedAt,
  };
}

function inputFromRule(rule: BudgetRule): BudgetInput {
  return {
    name: rule.name,
    scope: rule.scope,
    period: rule.period,
    amount_usd: nusdToUsd(rule.amountNusd),
    thresholds: rule.thresholdsBp.map((bp) => bp / BP),
    action: rule.action,
    forecast_alert: rule.forecastAlert,
    webhook_ids: rule.webhookIds,
    ...(rule.downgradeAtBp === null ? {} : { downgrade_at: rule.downgradeAtBp / BP }),
    cut_streams: rule.cutStreams,
  };
}

async function checkWebhooks(db: Db, ids: readonly string[] | undefined): Promise<void> {
  const missing = await missingEndpoints(db, ids ?? []);
  if (missing.length > 0) {
    throw new SluiceError('invalid_request', `webhook_ids names no webhook endpoint: ${missing.join(', ')}. Create it with POST /admin/webhooks first.`, { param: 'webhook_ids' });
  }
}

export async function createBudget(db: Db, input: BudgetInput, nowMs: number): Promise<BudgetRule> {
  await checkWebhooks(db, input.webhook_ids);
  const row = rowFromInput(newId('bud', nowMs), input, nowMs, nowMs);
  await db.insert(budgets).values(row);
  return ruleFromRow(row);
}

export async function findBudget(db: Db, id: string): Promise<BudgetRule> {
  const rows = await db.select().from(budgets).where(eq(budgets.id, id)).limit(1);
  if (!rows[0]) throw new SluiceError('not_found', `No budget with id "${id}".`);
  return ruleFromRow(rows[0]);
}

export async function listBudgetRules(db: Db): Promise<BudgetRule[]> {
  const rows = await db.select().from(budgets).orderBy(desc(budgets.id));
  return rows.map(ruleFromRow);
}

export async function updateBudget(db: Db, id: string, patch: BudgetPatch, nowMs: number): Promise<BudgetRule> {
  const current = await findBudget(db, id);
  const base = inputFromRule(current);
  // Settings that only make sense for the old action go with it, unless the patch sets them again.
  if (patch.action !== undefined && patch.action !== 'downgrade') delete base.downgrade_at;
  if (patch.action === 'alert') base.cut_streams = false;
  const merged = BudgetInput.safeParse({ ...base, ...patch });
  if (!merged.success) throw fromZodError(merged.error);
  if (patch.webhook_ids) await checkWebhooks(db, patch.webhook_ids);
  const { id: _id, createdAt: _created, ...changes } = rowFromInput(id, merged.data, current.createdAt, nowMs);
  await db.update(budgets).set(changes).where(eq(budgets.id, id));
  return findBudget(db, id);
}

/** Deletes a budget; its alerts stay in the history (they carry the budget's name). */
export async function deleteBudget(db: Db, id: string): Promise<{ id: string; deleted: true }> {
  const rows = await db.delete(budgets).where(eq(budgets.id, id)).returning({ id: budgets.id });
  if (rows.length === 0) throw new SluiceError('not_found', `No budget with id "${id}".`);
  return { id, deleted: true };
}

/** The public view of a budget (amounts as USD numbers and as exact nano-USD). */
export interface BudgetView {
  id: string;
  name: string;
  scope: { type: Scope['type']; value: string | null };
  period: Period;
  amount_usd: number;
  amount_nusd: number;
  thresholds: number[];
  action: BudgetAction;
  downgrade_at: number | null;
  cut_streams: boolean;
  forecast_alert: boolean;
  webhook_ids: string[];
  created_at: string;
  updated_at: string;
}

export function budgetView(rule: BudgetRule): BudgetView {
  return {
    id: rule.id,
    name: rule.name,
    scope: { type: rule.scope.type, value: rule.scope.value ?? null },
    period: rule.period,
    amount_usd: nusdToUsd(rule.amountNusd),
    amount_nusd: rule.amountNusd,
    thresholds: rule.thresholdsBp.map((bp) => bp / BP),
    action: rule.action,
    downgrade_at: rule.downgradeAtBp === null ? null : rule.downgradeAtBp / BP,
    cut_streams: rule.cutStreams,
    forecast_alert: rule.forecastAlert,
    webhook_ids: rule.webhookIds,
    created_at: new Date(rule.createdAt).toISOString(),
    updated_at: new Date(rule.updatedAt).toISOString(),
  };
}
