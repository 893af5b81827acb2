export const PERIODS = ['day', 'week', 'month', 'total'] as const;
export type Period = (typeof PERIODS)[number];

/** A UTC calendar period, half-open: [start, end). `end` is null for a `total` budget, which never resets. */
export interface PeriodBounds {
  start: number;
  end: number | null;
}

const DAY_MS = 86_400_000;

/** The period containing `atMs` (epoch ms, UTC). Weeks start on Monday (ISO 8601). */
export function periodBounds(period: Period, atMs: number): PeriodBounds {
  const at = new Date(atMs);
  const y = at.getUTCFullYear();
  const m = at.getUTCMonth();
  const d = at.getUTCDate();
  switch (period) {
    case 'day': {
      const start = Date.UTC(y, m, d);
      return { start, end: start + DAY_MS };
    }
    case 'week': {
      const sinceMonday = (at.getUTCDay() + 6) % 7;
      const start = Date.UTC(y, m, d - sinceMonday);
      return { start, end: start + 7 * DAY_MS };
    }
    case 'month':
      return { start: Date.UTC(y, m, 1), end: Date.UTC(y, m + 1, 1) };
    case 'total':
      return { start: 0, end: null };
  }
}

export function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
