import { linearRegression, linearRegressionLine, mean, median, medianAbsoluteDeviation, rSquared } from 'simple-statistics';
import { DAY_MS, floorTo, isoDate, monthLabel, monthStart, nextMonthStart } from './time';

/** Pure statistics on daily spend (nano-USD as plain numbers: forecasts are estimates, not ledger amounts). */

export interface DailySpend {
  /** Start of the UTC day, epoch ms. */
  day: number;
  costNusd: number;
}

/** How many complete days before now the trend is fitted on. */
export const FORECAST_LOOKBACK_DAYS = 28;
const Z_95 = 1.96;

export interface MonthForecast {
  month: string;
  period_start: string;
  period_end: string;
  as_of: string;
  spend_to_date_nusd: number;
  forecast_nusd: number;
  /** An approximate 95% band for the month-end total (see forecastMonthEnd). */
  low_nusd: number;
  high_nusd: number;
  /** none: no complete day to fit yet (run-rate only); low: fewer than 7 days; normal otherwise. */
  confidence: 'none' | 'low' | 'normal';
  trend: { days_used: number; slope_nusd_per_day: number; intercept_nusd: number; r_squared: number | null };
}

/**
 * Month-end spend forecast: a least-squares line through the daily spend of the last complete days
 * (up to FORECAST_LOOKBACK_DAYS, reaching into the previous month when this one is young),
 * extended over the rest of the month (never below zero per day) and added to the spend so far.
 * The band assumes independent daily residuals: ±1.96 · s · √(days left), where s is the
 * residual standard deviation of the fit (or the mean daily spend when fewer than three days are
 * fitted). With no complete day yet, the forecast is the run rate so far over the whole month,
 * and the band runs from the spend so far to twice the extrapolated remainder.
 */
export function forecastMonthEnd(nowMs: number, daily: readonly DailySpend[], spendToDateNusd: number): MonthForecast {
  const start = monthStart(nowMs);
  const end = nextMonthStart(nowMs);
  const daysInMonth = (end - start) / DAY_MS;
  const today = Math.floor((nowMs - start) / DAY_MS);
  const todayLeft = 1 - ((nowMs - start) % DAY_MS) / DAY_MS;
  const daysLeft = todayLeft + (daysInMonth - 1 - today);
  const todayStart = floorTo(nowMs, DAY_MS);
  const fitted = daily
    .filter((d) => d.day < todayStart && d.day >= todayStart - FORECAST_LOOKBACK_DAYS * DAY_MS)
    .map((d) => [(d.day - start) / DAY_MS, d.costNusd] as [number, number]);
  const base = {
    month: monthLabel(nowMs),
    period_start: new Date(start).toISOString(),
    period_end: new Date(end).toISOString(),
    as_of: new Date(nowMs).toISOString(),
    spend_to_date_nusd: spendToDateNusd,
  };

  if (fitted.length === 0) {
    const elapsedDays = daysInMonth - daysLeft;
    const forecast = elapsedDays > 0 ? Math.round((spendToDateNusd / elapsedDays) * daysInMonth) : spendToDateNusd;
    return {
      ...base,
      forecast_nusd: forecast,
      low_nusd: spendToDateNusd,
      high_nusd: Math.max(forecast, 2 * forecast - spendToDateNusd),
      confidence: 'none',
      trend: { days_used: 0, slope_nusd_per_day: 0, intercept_nusd: 0, r_squared: null },
    };
  }

  const fit = linearRegression(fitted);
  const line = linearRegressionLine(fit);
  const predict = (x: number): number => Math.max(0, line(x));
  let remaining = todayLeft * predict(today);
  for (let x = today + 1; x < daysInMonth; x++) remaining += predict(x);
  const residualSd =
    fitted.length >= 3
      ? Math.sqrt(fitted.reduce((sum, [x, y]) => sum + (y - line(x)) ** 2, 0) / (fitted.length - 2))
      : mean(fitted.map(([, y]) => y));
  const forecast = spendToDateNusd + remaining;
  const halfWidth = Z_95 * residualSd * Math.sqrt(daysLeft);
  return {
    ...base,
    forecast_nusd: Math.round(forecast),
    low_nusd: Math.round(Math.max(spendToDateNusd, forecast - halfWidth)),
    high_nusd: Math.round(forecast + halfWidth),
    confidence: fitted.length < 7 ? 'low' : 'normal',
    trend: {
      days_used: fitted.length,
      slope_nusd_per_day: Math.round(fit.m),
      intercept_nusd: Math.round(fit.b),
      r_squared: rSquaredOf(fitted, line),
    },
  };
}

/** How much of the daily variation the line explains; null when undefined (under three days, or no variation). */
function rSquaredOf(points: [number, number][], line: (x: number) => number): number | null {
  if (points.length < 3) return null;
  const r2 = rSquared(points, line);
  return Number.isFinite(r2) ? Math.round(r2 * 1e4) / 1e4 : null;
}

/** The robust z-score of every value: (x − median) / (1.4826 · MAD), or 1.2533 · mean absolute deviation when MAD is 0. */
export function robustZScores(values: readonly number[]): number[] {
  if (values.length === 0) return [];
  const center = median([...values]);
  const mad = medianAbsoluteDeviation([...values]);
  const scale = mad > 0 ? 1.4826 * mad : 1.2533 * mean(values.map((v) => Math.abs(v - center)));
  return values.map((v) => (scale > 0 ? (v - center) / scale : 0));
}

export interface SpendAnomaly {
  /** The principal (key id, user, team or project). */
  principal: string;
  day: string;
  cost_nusd: number;
  median_nusd: number;
  score: number;
  direction: 'spike' | 'drop';
}

export interface AnomalyOptions {
  /** |robust z| above which a day is flagged (3.5, after Iglewicz and Hoaglin). */
  threshold: number;
  /** Fewest days of history (from the principal's first active day) needed to judge. */
  minDays: number;
  /**
   * The least change from the median, as a fraction of it, worth flagging: a very steady
   * principal has a tiny MAD, and a 10% wobble would otherwise score as an outlier.
   */
  minRelativeChange: number;
}

export const DEFAULT_ANOMALY_OPTIONS: AnomalyOptions = { threshold: 3.5, minDays: 7, minRelativeChange: 0.5 };

/**
 * Flags days whose spend is far from the principal's usual, by robust z-score over the window,
 * when the change is also large in relative terms (see AnomalyOptions.minRelativeChange).
 * `series` maps a principal to its spend on each of `days` (same order, zeros included); days
 * before a principal's first spend are not part of its history. Strongest first.
 */
export function detectAnomalies(series: ReadonlyMap<string, readonly number[]>, days: readonly number[], options: AnomalyOptions = DEFAULT_ANOMALY_OPTIONS): SpendAnomaly[] {
  const anomalies: SpendAnomaly[] = [];
  for (const [principal, values] of series) {
    const first = values.findIndex((v) => v !== 0);
    if (first === -1) continue;
    const history = values.slice(first);
    if (history.length < options.minDays) continue;
    const center = median([...history]);
    robustZScores(history).forEach((score, i) => {
      if (Math.abs(score) <= options.threshold) return;
      if (Math.abs(history[i]! - center) < options.minRelativeChange * center) return;
      anomalies.push({
        principal,
        day: isoDate(days[first + i]!),
        cost_nusd: history[i]!,
        median_nusd: center,
        score: Math.round(score * 100) / 100,
        direction: score > 0 ? 'spike' : 'drop',
      });
    });
  }
  return anomalies.sort((a, b) => Math.abs(b.score) - Math.abs(a.score) || a.principal.localeCompare(b.principal));
}
