import { describe, expect, it } from 'vitest';
import { detectAnomalies, forecastMonthEnd, robustZScores, type DailySpend } from '../../src/reports/statistics';
import { DAY_MS } from '../../src/reports/time';

const NOV = Date.UTC(2026, 10, 1);

function days(start: number, costs: number[]): DailySpend[] {
  return costs.map((costNusd, i) => ({ day: start + i * DAY_MS, costNusd }));
}

describe('forecastMonthEnd', () => {
  it('extends an exact linear trend to the end of the month with a zero-width band', () => {
    // 1000 nano-USD on Nov 1, +100 per day; now is the start of Nov 11 (10 complete days).
    const daily = days(NOV, Array.from({ length: 10 }, (_, i) => 1000 + 100 * i));
    const spent = daily.reduce((s, d) => s + d.costNusd, 0);
    const f = forecastMonthEnd(NOV + 10 * DAY_MS, daily, spent);
    let expected = spent;
    for (let x = 10; x < 30; x++) expected += 1000 + 100 * x;
    expect(f.forecast_nusd).toBe(expected);
    expect(f.low_nusd).toBe(expected);
    expect(f.high_nusd).toBe(expected);
    expect(f.trend).toMatchObject({ days_used: 10, slope_nusd_per_day: 100, intercept_nusd: 1000, r_squared: 1 });
    expect(f.confidence).toBe('normal');
    expect(f).toMatchObject({ month: '2026-11', period_start: '2026-11-01T00:00:00.000Z', period_end: '2026-12-01T00:00:00.000Z' });
  });

  it('widens the band with noise and counts only the part of today that is left', () => {
    const noisy = days(NOV, [900, 1100, 950, 1050, 1000, 980, 1020, 1000, 990, 1010]);
    const spent = noisy.reduce((s, d) => s + d.costNusd, 0) + 500;
    const f = forecastMonthEnd(NOV + 10 * DAY_MS + DAY_MS / 2, noisy, spent);
    expect(f.low_nusd).toBeLessThan(f.forecast_nusd);
    expect(f.high_nusd).toBeGreaterThan(f.forecast_nusd);
    expect(f.forecast_nusd).toBeGreaterThan(spent + 19 * 950);
    expect(f.forecast_nusd).toBeLessThan(spent + 20 * 1050);
  });

  it('uses the previous month when this one has barely started, and never forecasts negative days', () => {
    const october = days(NOV - 28 * DAY_MS, Array.from({ length: 28 }, (_, i) => 28_000 - 1000 * i));
    const f = forecastMonthEnd(NOV + DAY_MS / 4, october, 0);
    expect(f.trend.days_used).toBe(28);
    expect(f.forecast_nusd).toBe(0);
    expect(f.low_nusd).toBe(0);
  });

  it('falls back to the run rate before any complete day', () => {
    const f = forecastMonthEnd(NOV + DAY_MS / 2, [], 5000);
    expect(f.confidence).toBe('none');
    expect(f.forecast_nusd).toBe(300_000);
    expect(f.low_nusd).toBe(5000);
    expect(f.high_nusd).toBe(595_000);
  });
});

describe('robust z-scores and anomalies', () => {
  it('scores by median and MAD, falling back to the mean absolute deviation', () => {
    expect(robustZScores([10, 10, 10, 10, 50]).map((z) => Math.round(z * 100) / 100)).toEqual([0, 0, 0, 0, 3.99]);
    const z = robustZScores([1, 2, 3, 4, 100]);
    expect(z[4]).toBeGreaterThan(60);
    expect(robustZScores([7, 7, 7])).toEqual([0, 0, 0]);
  });

  it('flags a spike per principal, ignoring days before its first spend and short histories', () => {
    const window = Array.from({ length: 14 }, (_, i) => NOV + i * DAY_MS);
    const steady = [100, 110, 95, 105, 100, 98, 102, 101, 99, 100, 103, 97, 100, 101];
    const spiky = [...steady.slice(0, 10), 2500, 100, 99, 101];
    const late = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 1000, 10, 10];
    const anomalies = detectAnomalies(
      new Map([
        ['key_steady', steady],
        ['key_spiky', spiky],
        ['key_late', late],
      ]),
      window,
    );
    expect(anomalies).toHaveLength(1);
    expect(anomalies[0]).toMatchObject({ principal: 'key_spiky', day: '2026-11-11', cost_nusd: 2500, median_nusd: 100, direction: 'spike' });
    expect(anomalies[0]!.score).toBeGreaterThan(3.5);
  });
});
