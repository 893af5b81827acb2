/** UTC calendar arithmetic on epoch milliseconds (reports never use local time). */

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

export function floorTo(ms: number, unit: number): number {
  return ms - (((ms % unit) + unit) % unit);
}

export function ceilTo(ms: number, unit: number): number {
  if (!Number.isFinite(ms)) return ms;
  const floor = floorTo(ms, unit);
  return floor === ms ? ms : floor + unit;
}

export function monthStart(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

/** The first instant of the month after the one containing `ms`. */
export function nextMonthStart(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/** `YYYY-MM` of the month containing `ms`. */
export function monthLabel(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

export function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** ISO 8601 to the millisecond, as the API's time fields. */
export function isoInstant(ms: number): string {
  return new Date(ms).toISOString();
}
