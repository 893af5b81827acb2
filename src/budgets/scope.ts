import { eq, sql, type SQL } from 'drizzle-orm';
import { usageEvents } from '../ledger/schema';

export const SCOPE_TYPES = ['key', 'user', 'team', 'project', 'tag', 'global'] as const;
export type ScopeType = (typeof SCOPE_TYPES)[number];

export interface Scope {
  type: ScopeType;
  /** Absent for global; `k=v` for a tag. */
  value?: string;
}

/** What a budget's scope is matched against: a principal about to spend, or a ledger event that did. */
export interface Spender {
  keyId: string;
  user: string | null;
  team: string | null;
  project: string | null;
  /** The event's tags (the key's tags win over request detail tags, as in the ledger). */
  tags: Readonly<Record<string, string>>;
}

/** Splits a tag scope `k=v` at its first `=`. */
export function splitTag(value: string): { name: string; value: string } {
  const eqAt = value.indexOf('=');
  return { name: value.slice(0, eqAt), value: value.slice(eqAt + 1) };
}

/** Whether a spender falls under a scope. Must agree with `scopeCondition` (the same rule in SQL). */
export function scopeMatches(scope: Scope, spender: Spender): boolean {
  switch (scope.type) {
    case 'global':
      return true;
    case 'key':
      return spender.keyId === scope.value;
    case 'user':
      return spender.user === scope.value;
    case 'team':
      return spender.team === scope.value;
    case 'project':
      return spender.project === scope.value;
    case 'tag': {
      const tag = splitTag(scope.value ?? '');
      return spender.tags[tag.name] === tag.value;
    }
  }
}

/** The ledger rows under a scope, as a WHERE condition (undefined: every row). */
export function scopeCondition(scope: Scope): SQL | undefined {
  const value = scope.value ?? '';
  switch (scope.type) {
    case 'global':
      return undefined;
    case 'key':
      return eq(usageEvents.keyId, value);
    case 'user':
      return eq(usageEvents.user, value);
    case 'team':
      return eq(usageEvents.team, value);
    case 'project':
      return eq(usageEvents.project, value);
    case 'tag': {
      const tag = splitTag(value);
      // Tag names are restricted to [A-Za-z0-9_.:-], so quoting the label is enough for the JSON path.
      return sql`json_extract(${usageEvents.tags}, ${`$."${tag.name}"`}) = ${tag.value}`;
    }
  }
}

export function describeScope(scope: Scope): string {
  return scope.type === 'global' ? 'all traffic' : `${scope.type} ${scope.value ?? ''}`;
}
