import { sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { TagName } from '../keys/keys';
import { DAY_MS } from './time';

/** What a report can be grouped by (`group_by=team,model`, several at once). */
export const GROUP_DIMENSIONS = ['key', 'user', 'team', 'project', 'model', 'family', 'provider', 'tier', 'day'] as const;
export type GroupDimension = (typeof GROUP_DIMENSIONS)[number] | `tag:${string}`;

const MAX_GROUP_BY = 8;

function problem(value: string): string | undefined {
  const names = value.split(',').map((s) => s.trim());
  if (names.length > MAX_GROUP_BY) return `at most ${MAX_GROUP_BY} dimensions at once`;
  const seen = new Set<string>();
  for (const name of names) {
    if (name === '') return 'an empty name (check for a stray comma)';
    if (seen.has(name)) return `"${name}" is listed twice`;
    seen.add(name);
    if (name.startsWith('tag:')) {
      if (!TagName.safeParse(name.slice(4)).success) return `"${name}" is not tag:<name> with a tag name of 1-64 letters, digits, or _ . : -`;
    } else if (!(GROUP_DIMENSIONS as readonly string[]).includes(name)) {
      return `"${name}" is not a dimension; use ${GROUP_DIMENSIONS.join(', ')} or tag:<name>`;
    }
  }
  return undefined;
}

/** `group_by` as a query parameter: comma-separated dimensions; empty means one total row. */
export const GroupByParam = z.string().transform((value, ctx): GroupDimension[] => {
  if (value.trim() === '') return [];
  const issue = problem(value);
  if (issue) {
    ctx.addIssue({ code: 'custom', message: issue });
    return z.NEVER;
  }
  return value.split(',').map((s) => s.trim() as GroupDimension);
});

/**
 * The SQL of a dimension over a report source (raw events or rollups expose the same columns:
 * key_id, user, team, project, provider, family, model, tier, tags, start).
 */
export function dimensionSql(dimension: GroupDimension): SQL {
  switch (dimension) {
    case 'key':
      return sql.raw('key_id');
    case 'day':
      return sql.raw(`(start - start % ${DAY_MS})`);
    case 'user':
    case 'team':
    case 'project':
    case 'model':
    case 'family':
    case 'provider':
    case 'tier':
      return sql.raw(`"${dimension}"`);
    default:
      return sql`json_extract(tags, ${`$."${dimension.slice(4)}"`})`;
  }
}

/** A dimension's value as reports show it: days as YYYY-MM-DD, everything else as text. */
export function dimensionValue(dimension: GroupDimension, raw: unknown): string | null {
  if (raw === null || raw === undefined) return null;
  if (dimension === 'day') return new Date(Number(raw)).toISOString().slice(0, 10);
  return String(raw);
}
