import { SluiceError } from '../errors';

export type TierHint = 'standard' | 'flex' | 'priority' | 'batch' | 'auto';
export type CacheHint = 'use' | 'bypass' | 'refresh';
export type RouteHint = 'auto' | 'off' | 'shadow';

/** The caller's `x-sluice-*` request hints (DESIGN.md), validated. */
export interface RequestHints {
  tier: TierHint | undefined;
  /** Latency budget in seconds. */
  deadlineS: number | undefined;
  cache: CacheHint | undefined;
  route: RouteHint | undefined;
  quality: number | undefined;
  session: string | undefined;
  tags: Record<string, string>;
}

type HeaderReader = (name: string) => string | undefined;

function oneOf<T extends string>(header: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  const v = value.trim().toLowerCase();
  if ((allowed as readonly string[]).includes(v)) return v as T;
  throw new SluiceError('invalid_request', `${header} must be one of ${allowed.join(', ')}; got "${value}"`, { param: header });
}

const DURATION_UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

function parseDeadline(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(value);
  if (!match) throw new SluiceError('invalid_request', `x-sluice-deadline must be a duration like 30s, 10m or 24h; got "${value}"`, { param: 'x-sluice-deadline' });
  return Number(match[1]) * (DURATION_UNITS[(match[2] ?? 's').toLowerCase()] ?? 1);
}

function parseQuality(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const quality = Number(value);
  if (value.trim() === '' || !Number.isFinite(quality) || quality < 0 || quality > 1) {
    throw new SluiceError('invalid_request', `x-sluice-quality must be a number from 0 to 1; got "${value}"`, { param: 'x-sluice-quality' });
  }
  return quality;
}

/** Parses `k=v,k=v` detail tags. */
export function parseTags(value: string | undefined): Record<string, string> {
  const tags: Record<string, string> = {};
  if (value === undefined || value.trim() === '') return tags;
  for (const pair of value.split(',')) {
    const eq = pair.indexOf('=');
    const name = (eq === -1 ? '' : pair.slice(0, eq)).trim();
    if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(name)) {
      throw new SluiceError('invalid_request', `x-sluice-tags must be k=v pairs separated by commas (names: letters, digits, _ . : -); got "${pair.trim()}"`, { param: 'x-sluice-tags' });
    }
    tags[name] = pair.slice(eq + 1).trim().slice(0, 256);
  }
  return tags;
}

export function parseHints(header: HeaderReader): RequestHints {
  const session = header('x-sluice-session')?.trim();
  return {
    tier: oneOf('x-sluice-tier', header('x-sluice-tier'), ['standard', 'flex', 'priority', 'batch', 'auto'] as const),
    deadlineS: parseDeadline(header('x-sluice-deadline')),
    cache: oneOf('x-sluice-cache', header('x-sluice-cache'), ['use', 'bypass', 'refresh'] as const),
    route: oneOf('x-sluice-route', header('x-sluice-route'), ['auto', 'off', 'shadow'] as const),
    quality: parseQuality(header('x-sluice-quality')),
    session: session ? session.slice(0, 256) : undefined,
    tags: parseTags(header('x-sluice-tags')),
  };
}
