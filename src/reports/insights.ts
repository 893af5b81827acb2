import type { Db } from '../db/client';
import type { GroupDimension } from './dimensions';
import { runReport } from './report';
import { DEFAULT_ANOMALY_OPTIONS, detectAnomalies, FORECAST_LOOKBACK_DAYS, forecastMonthEnd, type AnomalyOptions, type DailySpend, type MonthForecast, type SpendAnomaly } from './statistics';
import { DAY_MS, floorTo, monthStart } from './time';

/** Daily spend (nano-USD) over [from, to), every day present (zero when nothing was spent). */
export async function dailySpend(db: Db, fromMs: number, toMs: number): Promise<DailySpend[]> {
  const report = await runReport(db, { fromMs, toMs, groupBy: ['day'], latency: false });
  const byDay = new Map(report.rows.map((row) => [Date.parse(`${row.group[0]}T00:00:00Z`), Number(row.measures.money.cost_nusd)]));
  const days: DailySpend[] = [];
  for (let day = floorTo(fromMs, DAY_MS); day < toMs; day += DAY_MS) days.push({ day, costNusd: byDay.get(day) ?? 0 });
  return days;
}

/** The current month's spend up to and including `nowMs`, and its month-end forecast. */
export async function monthForecast(db: Db, nowMs: number): Promise<MonthForecast & { daily: { day: string; cost_nusd: number }[] }> {
  const start = monthStart(nowMs);
  const daily = await dailySpend(db, Math.min(start, floorTo(nowMs, DAY_MS) - FORECAST_LOOKBACK_DAYS * DAY_MS), nowMs + 1);
  const spendToDate = daily.filter((d) => d.day >= start).reduce((sum, d) => sum + d.costNusd, 0);
  return {
    ...forecastMonthEnd(nowMs, daily, spendToDate),
    daily: daily.filter((d) => d.day >= start).map((d) => ({ day: new Date(d.day).toISOString().slice(0, 10), cost_nusd: d.costNusd })),
  };
}

export type AnomalyDimension = Extract<GroupDimension, 'key' | 'user' | 'team' | 'project'>;

/** Days in [from, to) on which a principal's spend was anomalous (robust z-score per principal). */
export async function spendAnomalies(db: Db, fromMs: number, toMs: number, by: AnomalyDimension, options: AnomalyOptions = DEFAULT_ANOMALY_OPTIONS): Promise<SpendAnomaly[]> {
  const report = await runReport(db, { fromMs, toMs, groupBy: [by, 'day'], latency: false });
  const days: number[] = [];
  for (let day = floorTo(fromMs, DAY_MS); day < toMs; day += DAY_MS) days.push(day);
  const series = new Map<string, number[]>();
  for (const row of report.rows) {
    const [principal, day] = row.group;
    if (principal === null || principal === undefined) continue;
    let values = series.get(principal);
    if (!values) {
      values = new Array<number>(days.length).fill(0);
      series.set(principal, values);
    }
    values[days.indexOf(Date.parse(`${day}T00:00:00Z`))] = Number(row.measures.money.cost_nusd);
  }
  return detectAnomalies(series, days, options);
}
