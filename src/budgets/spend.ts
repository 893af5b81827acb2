import { and, desc, gte, lt, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client';
import { usageEvents } from '../ledger/schema';
import { nusdToUsd } from './money';
import type { PeriodBounds } from './periods';
import { scopeCondition, type Scope } from './scope';

function within(scope: Scope, bounds: PeriodBounds, untilMs?: number): SQL | undefined {
  const end = untilMs ?? bounds.end;
  return and(
    scopeCondition(scope),
    bounds.start > 0 ? gte(usageEvents.time, bounds.start) : undefined,
    end === null ? undefined : lt(usageEvents.time, end),
  );
}

/** Committed ledger spend under a scope in a period, in nano-USD (exact: an integer SUM). */
export async function spendInPeriod(db: Db, scope: Scope, bounds: PeriodBounds): Promise<number> {
  const rows = await db
    .select({ spend: sql<number>`coalesce(sum(${usageEvents.costNusd}), 0)` })
    .from(usageEvents)
    .where(within(scope, bounds));
  return Number(rows[0]?.spend ?? 0);
}

export interface Spender {
  key_id: string;
  user: string | null;
  team: string | null;
  project: string | null;
  spend_usd: number;
  spend_nusd: number;
}

/** The keys that spent most under a scope in a period. */
export async function topSpenders(db: Db, scope: Scope, bounds: PeriodBounds, limit = 5): Promise<Spender[]> {
  const spend = sql<number>`sum(${usageEvents.costNusd})`;
  const rows = await db
    .select({ keyId: usageEvents.keyId, user: usageEvents.user, team: usageEvents.team, project: usageEvents.project, spend })
    .from(usageEvents)
    .where(within(scope, bounds))
    .groupBy(usageEvents.keyId, usageEvents.user, usageEvents.team, usageEvents.project)
    .having(sql`${spend} > 0`)
    .orderBy(desc(spend))
    .limit(limit);
  return rows.map((r) => ({ key_id: r.keyId, user: r.user, team: r.team, project: r.project, spend_usd: nusdToUsd(Number(r.spend)), spend_nusd: Number(r.spend) }));
}

/** Spend per bucket of `bucketMs` from the period start up to `untilMs`, oldest first (empty buckets are 0). */
export async function spendByBucket(db: Db, scope: Scope, bounds: PeriodBounds, bucketMs: number, untilMs: number): Promise<number[]> {
  // libSQL binds JS numbers as reals: cast, or the division is not an integer bucket index.
  const bucket = sql<number>`cast((${usageEvents.time} - ${bounds.start}) / ${bucketMs} as integer)`;
  const rows = await db
    .select({ bucket, spend: sql<number>`sum(${usageEvents.costNusd})` })
    .from(usageEvents)
    .where(within(scope, bounds, untilMs))
    .groupBy(bucket);
  const count = Math.max(1, Math.ceil((untilMs - bounds.start) / bucketMs));
  const series = new Array<number>(count).fill(0);
  for (const row of rows) {
    const i = Number(row.bucket);
    if (i >= 0 && i < count) series[i] = Number(row.spend);
  }
  return series;
}
