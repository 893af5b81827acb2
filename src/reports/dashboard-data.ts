import { showBudgets, type BudgetWithStatus } from '../budgets/manage';
import type { Services } from '../gateway/services';
import { keyLabels } from '../keys/keys';
import { measuresView, type MeasuresView } from './chargeback';
import { monthForecast, spendAnomalies } from './insights';
import { runReport } from './report';
import type { MonthForecast, SpendAnomaly } from './statistics';
import { DAY_MS, floorTo, isoDate } from './time';

const TOP_TEAMS = 6;
const TOP_PRINCIPALS = 10;

export interface TeamSeries {
  /** null: requests from keys without a team; "other": the teams beyond the top ones. */
  team: string | null;
  costs: bigint[];
  total: bigint;
}

export interface DashboardData {
  fromMs: number;
  toMs: number;
  totals: MeasuresView;
  days: string[];
  spendByTeam: TeamSeries[];
  modelMix: { model: string | null; cost_nusd: bigint; requests: number }[];
  topPrincipals: { key: string; key_name: string | null; team: string | null; cost_nusd: bigint; savings_nusd: bigint; requests: number; anomalies: number }[];
  forecast: MonthForecast;
  anomalies: (SpendAnomaly & { key_name: string | null })[];
  budgets: BudgetWithStatus[];
}

/** Everything the dashboard page shows for [from, to), from the same reports the API serves. */
export async function dashboardData(services: Services, fromMs: number, toMs: number): Promise<DashboardData> {
  const { db, clock } = services.deps;
  const nowMs = clock.now();
  const [byTeamDay, byModel, byKey, forecast, anomalies, budgetList] = await Promise.all([
    runReport(db, { fromMs, toMs, groupBy: ['team', 'day'], latency: false }),
    runReport(db, { fromMs, toMs, groupBy: ['model'] }),
    runReport(db, { fromMs, toMs, groupBy: ['key', 'team'], latency: false }),
    monthForecast(db, nowMs),
    spendAnomalies(db, fromMs, toMs, 'key'),
    showBudgets(services).then((list) => list.data),
  ]);

  const days: string[] = [];
  for (let day = floorTo(fromMs, DAY_MS); day < toMs; day += DAY_MS) days.push(isoDate(day));
  const teams = new Map<string | null, TeamSeries>();
  for (const row of byTeamDay.rows) {
    const [team = null, day] = row.group;
    let series = teams.get(team);
    if (!series) {
      series = { team, costs: days.map(() => 0n), total: 0n };
      teams.set(team, series);
    }
    series.costs[days.indexOf(day ?? '')]! += row.measures.money.cost_nusd;
    series.total += row.measures.money.cost_nusd;
  }
  const ranked = [...teams.values()].sort((a, b) => (b.total > a.total ? 1 : b.total < a.total ? -1 : 0));
  const spendByTeam = ranked.slice(0, TOP_TEAMS);
  const rest = ranked.slice(TOP_TEAMS);
  if (rest.length > 0) {
    spendByTeam.push({
      team: 'other',
      costs: days.map((_, i) => rest.reduce((sum, s) => sum + s.costs[i]!, 0n)),
      total: rest.reduce((sum, s) => sum + s.total, 0n),
    });
  }

  const top = byKey.rows.slice(0, TOP_PRINCIPALS);
  const names = await keyLabels(db, [...new Set([...top.map((r) => r.group[0] ?? ''), ...anomalies.map((a) => a.principal)])]);
  return {
    fromMs,
    toMs,
    totals: measuresView(byModel.totals),
    days,
    spendByTeam,
    modelMix: byModel.rows.map((row) => ({ model: row.group[0] ?? null, cost_nusd: row.measures.money.cost_nusd, requests: row.measures.counts.requests })),
    topPrincipals: top.map((row) => {
      const key = row.group[0] ?? '';
      return {
        key,
        key_name: names.get(key)?.name ?? null,
        team: row.group[1] ?? null,
        cost_nusd: row.measures.money.cost_nusd,
        savings_nusd: row.measures.money.baseline_cost_nusd - row.measures.money.cost_nusd,
        requests: row.measures.counts.requests,
        anomalies: anomalies.filter((a) => a.principal === key).length,
      };
    }),
    forecast,
    anomalies: anomalies.map((a) => ({ ...a, key_name: names.get(a.principal)?.name ?? null })),
    budgets: budgetList,
  };
}
