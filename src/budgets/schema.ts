import { index, integer, sqliteTable, text, unique } from 'drizzle-orm/sqlite-core';

/**
 * Spending budgets. Money is integer nano-USD; thresholds are integer basis points of the amount
 * (8000 = 80%), so every comparison stays in integers.
 */
export const budgets = sqliteTable(
  'budgets',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    /** key | user | team | project | tag | global */
    scopeType: text('scope_type').notNull(),
    /** The key id, user, team or project; `k=v` for a tag; null for global. */
    scopeValue: text('scope_value'),
    /** day | week | month | total (UTC calendar periods; weeks start on Monday). */
    period: text('period').notNull(),
    amountNusd: integer('amount_nusd').notNull(),
    /** JSON array of basis points, ascending. */
    thresholdsBp: text('thresholds_bp').notNull(),
    /** alert | block | downgrade: what happens at 100%. */
    action: text('action').notNull(),
    /** For `downgrade`: the share of the amount (basis points) from which requests step down the ladder. */
    downgradeAtBp: integer('downgrade_at_bp'),
    /** Cut a stream at its next chunk once it runs past a block or downgrade budget. */
    cutStreams: integer('cut_streams', { mode: 'boolean' }).notNull(),
    forecastAlert: integer('forecast_alert', { mode: 'boolean' }).notNull(),
    /** JSON array of webhook endpoint ids; empty means every endpoint subscribed to the event. */
    webhookIds: text('webhook_ids').notNull(),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [index('budgets_scope_idx').on(t.scopeType, t.scopeValue)],
);

/**
 * One row per alert ever raised. The unique constraint is what makes an alert happen at most
 * once per (budget, period, kind, threshold) across restarts and instances: every writer inserts
 * with ON CONFLICT DO NOTHING, and the webhook event is committed in the same transaction.
 */
export const budgetAlerts = sqliteTable(
  'budget_alerts',
  {
    id: text('id').primaryKey(),
    budgetId: text('budget_id').notNull(),
    /** Epoch ms of the period start (0 for a `total` budget). */
    periodStart: integer('period_start').notNull(),
    periodEnd: integer('period_end'),
    /** threshold | forecast | blocked */
    kind: text('kind').notNull(),
    /** Basis points of the amount; 10000 for forecast and blocked alerts. */
    thresholdBp: integer('threshold_bp').notNull(),
    budgetName: text('budget_name').notNull(),
    spendNusd: integer('spend_nusd').notNull(),
    amountNusd: integer('amount_nusd').notNull(),
    forecastNusd: integer('forecast_nusd'),
    /** JSON array of the top spenders under the budget this period. */
    topSpenders: text('top_spenders').notNull(),
    /** The webhook event (webhook_events.id) that announces the alert. */
    eventId: text('event_id').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [
    unique('budget_alerts_once').on(t.budgetId, t.periodStart, t.kind, t.thresholdBp),
    index('budget_alerts_created_idx').on(t.createdAt),
  ],
);
