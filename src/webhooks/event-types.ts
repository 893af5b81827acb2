import { z } from 'zod';

/**
 * The events Sluice sends. Every body is `{type, timestamp, data}` (Standard Webhooks); money
 * appears twice in `data`: `*_usd` as a JSON number for people and tools, `*_nusd` as the exact
 * integer nano-USD the ledger holds.
 *
 * - `budget.threshold_crossed`: spend passed an alert threshold. `data`: budget_id, budget_name,
 *   scope {type, value}, period, threshold (a fraction, 0.8), spend_usd, spend_nusd, amount_usd,
 *   amount_nusd, period_start, period_end (ISO 8601, null for `total`), forecast_usd (null when
 *   there is too little history), top_spenders [{key_id, user, team, project, spend_usd, spend_nusd}].
 * - `budget.forecast_exceeded`: the period-end projection passed the amount; same fields.
 * - `budget.blocked`: a block (or exhausted downgrade) budget refused its first request of the
 *   period; same fields plus `resets_at`.
 * - `deferred.completed`: a deferred (batch-tier) request finished; `data` has at least `id` and
 *   `status` (completed | failed | expired). Emitted by the batch queue.
 * - `report.ready`: a scheduled report was produced; `data` has at least `id`. Emitted by reports.
 * - `webhook.test`: sent by `POST /admin/webhooks/{id}/test` to that endpoint only.
 */
export const EVENT_TYPES = [
  'budget.threshold_crossed',
  'budget.forecast_exceeded',
  'budget.blocked',
  'deferred.completed',
  'report.ready',
] as const;
export type SubscribableEventType = (typeof EVENT_TYPES)[number];
export type EventType = SubscribableEventType | 'webhook.test';

const Spender = z.object({
  key_id: z.string(),
  user: z.string().nullable(),
  team: z.string().nullable(),
  project: z.string().nullable(),
  spend_usd: z.number(),
  spend_nusd: z.number().int(),
});

export const BudgetEventData = z.object({
  budget_id: z.string(),
  budget_name: z.string(),
  scope: z.object({ type: z.string(), value: z.string().nullable() }),
  period: z.string(),
  threshold: z.number(),
  spend_usd: z.number(),
  spend_nusd: z.number().int(),
  amount_usd: z.number(),
  amount_nusd: z.number().int(),
  period_start: z.string(),
  period_end: z.string().nullable(),
  forecast_usd: z.number().nullable(),
  top_spenders: z.array(Spender),
  resets_at: z.string().nullable().optional(),
});
export type BudgetEventData = z.infer<typeof BudgetEventData>;

/** What `enqueueEvent` accepts as `data` for each type (validated before anything is written). */
export const EVENT_DATA: Record<EventType, z.ZodType<Record<string, unknown>>> = {
  'budget.threshold_crossed': BudgetEventData,
  'budget.forecast_exceeded': BudgetEventData,
  'budget.blocked': BudgetEventData,
  'deferred.completed': z.looseObject({ id: z.string(), status: z.string() }),
  'report.ready': z.looseObject({ id: z.string() }),
  'webhook.test': z.looseObject({ endpoint_id: z.string(), message: z.string() }),
};

export function isSubscribable(type: string): type is SubscribableEventType {
  return (EVENT_TYPES as readonly string[]).includes(type);
}
