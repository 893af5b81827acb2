import { and, desc, eq, gte, lt, or, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client';
import { SluiceError } from '../errors';
import { usageEvents } from './schema';
import type { LedgerEvent } from './writer';

/** The public shape of a ledger event (DESIGN.md `GET /admin/usage/events`). */
export interface EventView {
  id: string;
  time: string;
  request_id: string;
  key_id: string;
  user: string | null;
  team: string | null;
  project: string | null;
  tags: Record<string, string>;
  surface: string;
  requested_model: string;
  served_model: string | null;
  provider: string | null;
  family: string | null;
  tier: string;
  tier_reason: string | null;
  attempts: number;
  stream: boolean;
  input_tokens: number;
  cached_input_tokens: number;
  cache_write_tokens: number;
  cache_write_1h_tokens: number;
  output_tokens: number;
  reasoning_tokens: number;
  cost_nusd: number;
  baseline_cost_nusd: number;
  savings_nusd: { routing: number; caching: number; tier: number };
  cache: string;
  complexity: number | null;
  scorer_version: string | null;
  route_reason: string | null;
  shadow_model: string | null;
  shadow_cost_nusd: number | null;
  latency_ms: number;
  ttft_ms: number | null;
  status: string;
  http_status: number;
  error_type: string | null;
  usage_estimated: boolean;
}

export function eventView(e: LedgerEvent): EventView {
  return {
    id: e.id,
    time: new Date(e.time).toISOString(),
    request_id: e.requestId,
    key_id: e.keyId,
    user: e.user,
    team: e.team,
    project: e.project,
    tags: JSON.parse(e.tags) as Record<string, string>,
    surface: e.surface,
    requested_model: e.requestedModel,
    served_model: e.servedModel,
    provider: e.provider,
    family: e.family,
    tier: e.tier,
    tier_reason: e.tierReason,
    attempts: e.attempts,
    stream: e.stream,
    input_tokens: e.inputTokens,
    cached_input_tokens: e.cachedInputTokens,
    cache_write_tokens: e.cacheWriteTokens,
    cache_write_1h_tokens: e.cacheWrite1hTokens,
    output_tokens: e.outputTokens,
    reasoning_tokens: e.reasoningTokens,
    cost_nusd: e.costNusd,
    baseline_cost_nusd: e.baselineCostNusd,
    savings_nusd: { routing: e.routingSavingsNusd, caching: e.cachingSavingsNusd, tier: e.tierSavingsNusd },
    cache: e.cache,
    complexity: e.complexity,
    scorer_version: e.scorerVersion,
    route_reason: e.routeReason,
    shadow_model: e.shadowModel,
    shadow_cost_nusd: e.shadowCostNusd,
    latency_ms: e.latencyMs,
    ttft_ms: e.ttftMs,
    status: e.status,
    http_status: e.httpStatus,
    error_type: e.errorType,
    usage_estimated: e.usageEstimated,
  };
}

function encodeCursor(event: LedgerEvent): string {
  return btoa(`${event.time}:${event.id}`).replace(/=+$/, '');
}

function decodeCursor(cursor: string): { time: number; id: string } {
  let decoded: string;
  try {
    decoded = atob(cursor);
  } catch {
    throw new SluiceError('invalid_request', 'cursor is not one this API returned', { param: 'cursor' });
  }
  const colon = decoded.indexOf(':');
  const time = Number(decoded.slice(0, colon));
  if (colon < 1 || !Number.isSafeInteger(time)) {
    throw new SluiceError('invalid_request', 'cursor is not one this API returned', { param: 'cursor' });
  }
  return { time, id: decoded.slice(colon + 1) };
}

export interface EventQuery {
  fromMs?: number;
  toMs?: number;
  keyId?: string;
  limit: number;
  cursor?: string;
}

/** Ledger events in [from, to), newest first, with a stable cursor for the next page. */
export async function listEvents(db: Db, query: EventQuery): Promise<{ data: EventView[]; next_cursor: string | null }> {
  const conditions: SQL[] = [];
  if (query.fromMs !== undefined) conditions.push(gte(usageEvents.time, query.fromMs));
  if (query.toMs !== undefined) conditions.push(lt(usageEvents.time, query.toMs));
  if (query.keyId !== undefined) conditions.push(eq(usageEvents.keyId, query.keyId));
  if (query.cursor !== undefined) {
    const after = decodeCursor(query.cursor);
    const older = or(lt(usageEvents.time, after.time), and(eq(usageEvents.time, after.time), lt(usageEvents.id, after.id)));
    if (older) conditions.push(older);
  }
  const rows = await db
    .select()
    .from(usageEvents)
    .where(conditions.length ? and(...conditions) : undefined)
    .orderBy(desc(usageEvents.time), desc(usageEvents.id))
    .limit(query.limit + 1);
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  return { data: page.map(eventView), next_cursor: rows.length > query.limit && last ? encodeCursor(last) : null };
}
