import { and, desc, eq, gte, inArray, lt, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client';
import { SluiceError } from '../errors';
import { nusdToUsd } from './money';
import { isoOrNull } from './periods';
import { budgetAlerts } from './schema';
import type { Spender } from './spend';

type AlertRow = typeof budgetAlerts.$inferSelect;

export interface AlertView {
  id: string;
  budget_id: string;
  budget_name: string;
  kind: 'threshold' | 'forecast' | 'blocked';
  threshold: number;
  period_start: string;
  period_end: string | null;
  spend_usd: number;
  spend_nusd: number;
  amount_usd: number;
  amount_nusd: number;
  forecast_usd: number | null;
  forecast_nusd: number | null;
  top_spenders: Spender[];
  event_id: string;
  created_at: string;
}

function toView(row: AlertRow): AlertView {
  return {
    id: row.id,
    budget_id: row.budgetId,
    budget_name: row.budgetName,
    kind: row.kind as AlertView['kind'],
    threshold: row.thresholdBp / 10_000,
    period_start: new Date(row.periodStart).toISOString(),
    period_end: isoOrNull(row.periodEnd),
    spend_usd: nusdToUsd(row.spendNusd),
    spend_nusd: row.spendNusd,
    amount_usd: nusdToUsd(row.amountNusd),
    amount_nusd: row.amountNusd,
    forecast_usd: row.forecastNusd === null ? null : nusdToUsd(row.forecastNusd),
    forecast_nusd: row.forecastNusd,
    top_spenders: JSON.parse(row.topSpenders) as Spender[],
    event_id: row.eventId,
    created_at: new Date(row.createdAt).toISOString(),
  };
}

export interface AlertQuery {
  budgetId?: string;
  fromMs?: number;
  toMs?: number;
  limit: number;
  cursor?: string;
}

/** Alerts, newest first (ids are time-sortable, so the id is the cursor). */
export async function listAlerts(db: Db, query: AlertQuery): Promise<{ data: AlertView[]; next_cursor: string | null }> {
  const conditions: SQL[] = [];
  if (query.budgetId !== undefined) conditions.push(eq(budgetAlerts.budgetId, query.budgetId));
  if (query.fromMs !== undefined) conditions.push(gte(budgetAlerts.createdAt, query.fromMs));
  if (query.toMs !== undefined) conditions.push(lt(budgetAlerts.createdAt, query.toMs));
  if (query.cursor !== undefined) conditions.push(lt(budgetAlerts.id, query.cursor));
  const rows = await db
    .select()
    .from(budgetAlerts)
    .where(conditions.length ? and(...conditions) : undefined)
    .orderBy(desc(budgetAlerts.id))
    .limit(query.limit + 1);
  const page = rows.slice(0, query.limit);
  return { data: page.map(toView), next_cursor: rows.length > query.limit ? (page[page.length - 1]?.id ?? null) : null };
}

export async function getAlert(db: Db, id: string): Promise<AlertView> {
  const rows = await db.select().from(budgetAlerts).where(eq(budgetAlerts.id, id)).limit(1);
  if (!rows[0]) throw new SluiceError('not_found', `No alert with id "${id}".`);
  return toView(rows[0]);
}

/** The alerts that exist for each (budget, period), as `kind:threshold_bp` keys. */
export async function alertKeysFor(db: Db, periods: ReadonlyArray<{ budgetId: string; periodStart: number }>): Promise<Map<string, string[]>> {
  const keys = new Map<string, string[]>();
  if (periods.length === 0) return keys;
  const wanted = new Set(periods.map((p) => `${p.budgetId}@${p.periodStart}`));
  const rows = await db
    .select({ budgetId: budgetAlerts.budgetId, periodStart: budgetAlerts.periodStart, kind: budgetAlerts.kind, thresholdBp: budgetAlerts.thresholdBp })
    .from(budgetAlerts)
    .where(and(inArray(budgetAlerts.budgetId, [...new Set(periods.map((p) => p.budgetId))]), gte(budgetAlerts.periodStart, Math.min(...periods.map((p) => p.periodStart)))));
  for (const row of rows) {
    if (!wanted.has(`${row.budgetId}@${row.periodStart}`)) continue;
    const list = keys.get(row.budgetId) ?? [];
    list.push(`${row.kind}:${row.thresholdBp}`);
    keys.set(row.budgetId, list);
  }
  return keys;
}
