/**
 * Five-field cron expressions (minute hour day-of-month month day-of-week), in UTC: parsing and
 * the next matching minute. Pure. The job table's schedules are all this needs; a library with
 * time-zone support would load ICU's zone data into every gateway for nothing.
 *
 * Each field takes `*`, a number, a range `a-b`, a step `*\/n` or `a-b/n`, or a list of those.
 * Day of week is 0-7 (0 and 7 are Sunday). As in Vixie cron, when both day fields are restricted
 * a day matches if either does.
 */

export interface CronSchedule {
  readonly expression: string;
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly daysOfMonth: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  readonly daysOfWeek: ReadonlySet<number>;
  /** Whether each day field was `*` (matters for the either-day rule). */
  readonly anyDayOfMonth: boolean;
  readonly anyDayOfWeek: boolean;
}

const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day of week', min: 0, max: 7 },
] as const;

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
/** No five-field expression that can match waits longer than this (29 February with a weekday). */
const SEARCH_LIMIT_MS = 8 * 366 * 24 * HOUR_MS;

function parseField(text: string, field: (typeof FIELDS)[number], expression: string): { values: Set<number>; any: boolean } {
  const values = new Set<number>();
  const invalid = (why: string): Error => new Error(`cron "${expression}": ${field.name} "${text}" ${why}`);
  const number = (part: string): number => {
    if (!/^\d+$/.test(part)) throw invalid('is not a number, range, step or list');
    const value = Number(part);
    if (value < field.min || value > field.max) throw invalid(`is outside ${field.min}-${field.max}`);
    return value;
  };
  for (const item of text.split(',')) {
    const [range, stepText, extra] = item.split('/');
    if (range === undefined || extra !== undefined) throw invalid('is not a number, range, step or list');
    if (stepText !== undefined && !/^0*[1-9]\d*$/.test(stepText)) throw invalid('has a step that is not a positive integer');
    const step = stepText === undefined ? 1 : Number(stepText);
    let from: number;
    let to: number;
    if (range === '*') {
      from = field.min;
      to = field.max;
    } else if (range.includes('-')) {
      const [a, b] = range.split('-');
      from = number(a ?? '');
      to = number(b ?? '');
      if (from > to) throw invalid('has a range that runs backwards');
    } else {
      from = number(range);
      to = stepText === undefined ? from : field.max;
    }
    for (let value = from; value <= to; value += step) values.add(value);
  }
  return { values, any: text === '*' };
}

export function parseCron(expression: string): CronSchedule {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5) throw new Error(`cron "${expression}": expected 5 fields (minute hour day-of-month month day-of-week), got ${parts.length}`);
  const [minutes, hours, daysOfMonth, months, daysOfWeek] = parts.map((part, i) => parseField(part, FIELDS[i]!, expression)) as [
    ReturnType<typeof parseField>,
    ReturnType<typeof parseField>,
    ReturnType<typeof parseField>,
    ReturnType<typeof parseField>,
    ReturnType<typeof parseField>,
  ];
  if (daysOfWeek.values.delete(7)) daysOfWeek.values.add(0);
  return {
    expression,
    minutes: minutes.values,
    hours: hours.values,
    daysOfMonth: daysOfMonth.values,
    months: months.values,
    daysOfWeek: daysOfWeek.values,
    anyDayOfMonth: daysOfMonth.any,
    anyDayOfWeek: daysOfWeek.any,
  };
}

function dayMatches(schedule: CronSchedule, date: Date): boolean {
  const byMonth = schedule.daysOfMonth.has(date.getUTCDate());
  const byWeek = schedule.daysOfWeek.has(date.getUTCDay());
  if (schedule.anyDayOfMonth || schedule.anyDayOfWeek) return byMonth && byWeek;
  return byMonth || byWeek;
}

/** The first minute (epoch ms, on the minute) strictly after `afterMs` that the schedule matches. */
export function nextRun(schedule: CronSchedule, afterMs: number): number {
  let t = Math.floor(afterMs / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
  const limit = afterMs + SEARCH_LIMIT_MS;
  while (t <= limit) {
    const date = new Date(t);
    if (!schedule.months.has(date.getUTCMonth() + 1)) {
      t = Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
    } else if (!dayMatches(schedule, date)) {
      t = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() + 1);
    } else if (!schedule.hours.has(date.getUTCHours())) {
      t = Math.floor(t / HOUR_MS) * HOUR_MS + HOUR_MS;
    } else if (!schedule.minutes.has(date.getUTCMinutes())) {
      t += MINUTE_MS;
    } else {
      return t;
    }
  }
  throw new Error(`cron "${schedule.expression}" never matches`);
}
