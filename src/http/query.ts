import { z } from 'zod';
import { parseInstant } from '../util/time';

/** A query parameter holding an ISO 8601 instant or a UTC date, as epoch ms. */
export const InstantParam = z.string().transform((value, ctx) => {
  const ms = parseInstant(value);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not an ISO 8601 timestamp with offset (2026-11-01T00:00:00Z) or a date (2026-11-01)` });
    return z.NEVER;
  }
  return ms;
});

export const LimitParam = (max: number, fallback: number) => z.coerce.number().int().min(1).max(max).default(fallback);
