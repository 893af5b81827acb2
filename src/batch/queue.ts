import { and, desc, eq, lt, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client';
import { SluiceError } from '../errors';
import type { CatalogModel } from '../catalog/catalog';
import { ChatRequest, type ChatCompletion } from '../gateway/chat';
import type { ChatTarget } from '../providers/types';
import type { ChatCall } from '../gateway/handle-chat';
import type { Services } from '../gateway/services';
import type { RouteDecision } from '../routing/resolve';
import type { TierReason } from '../routing/tier';
import { newId } from '../util/ids';
import { utf8Length } from '../util/utf8';
import { deferredItems } from './schema';

/** The queue's view of deferred requests: enqueue on the request path, and the owner's reads. */

export type DeferredItem = typeof deferredItems.$inferSelect;
export type DeferredStatus = 'queued' | 'submitted' | 'completed' | 'failed' | 'expired' | 'cancelled';
export const TERMINAL_STATUSES: readonly DeferredStatus[] = ['completed', 'failed', 'expired', 'cancelled'];

export interface DeferredError {
  code: string;
  message: string;
}

/** DESIGN.md's deferred shape: `{id, object, status, poll_url, result?, error?}` plus timestamps. */
export interface DeferredView {
  id: string;
  object: 'sluice.deferred';
  status: DeferredStatus;
  /** Path of `GET /v1/sluice/deferred/{id}`; routes make it absolute. */
  poll_url: string;
  model: string;
  request_id: string;
  created_at: string;
  expires_at: string;
  completed_at: string | null;
  /** The answer in the caller's own format (rendered per surface by the route). */
  result?: unknown;
  error?: DeferredError;
}

/** Ids per `IN (...)` list: well within SQLite's limit on bound parameters. */
export const ID_CHUNK = 500;

/** Bytes a line carries besides the request itself (custom_id, method, url, wrappers). */
const LINE_OVERHEAD_BYTES = 256;

export function pollPath(id: string): string {
  return `/v1/sluice/deferred/${id}`;
}

export function deferredView(item: DeferredItem): DeferredView {
  const view: DeferredView = {
    id: item.id,
    object: 'sluice.deferred',
    status: item.status as DeferredStatus,
    poll_url: pollPath(item.id),
    model: item.requestedModel,
    request_id: item.requestId,
    created_at: new Date(item.createdAt).toISOString(),
    expires_at: new Date(item.expiresAt).toISOString(),
    completed_at: item.finishedAt === null ? null : new Date(item.finishedAt).toISOString(),
  };
  if (item.result !== null) view.result = JSON.parse(item.result) as ChatCompletion;
  if (item.error !== null) view.error = JSON.parse(item.error) as DeferredError;
  return view;
}

export interface EnqueueInput {
  call: ChatCall;
  decision: RouteDecision;
  tierReason: TierReason;
  /** The ledger's tags JSON for the request. */
  tags: string;
}

/** Queues a validated request for the batch tier; its ledger row is written when it ends. */
export async function enqueueDeferred(services: Services, input: EnqueueInput): Promise<DeferredView> {
  const { call, decision } = input;
  const { db, config } = services.deps;
  const request = JSON.stringify(call.request);
  const item: DeferredItem = {
    id: newId('dfr', call.receivedAt),
    requestId: call.requestId,
    keyId: call.principal.keyId,
    surface: call.surface,
    status: 'queued',
    provider: decision.model.provider,
    model: decision.model.id,
    requestedModel: decision.requestedModel,
    family: decision.family?.name ?? null,
    baselineModel: decision.baseline.id,
    routeReason: decision.reason,
    tierReason: input.tierReason,
    complexity: decision.complexity,
    scorerVersion: decision.scorerVersion,
    user: call.principal.user,
    team: call.principal.team,
    project: call.principal.project,
    tags: input.tags,
    request,
    bytes: utf8Length(request) + LINE_OVERHEAD_BYTES,
    jobId: null,
    attempts: 0,
    leaseUntil: null,
    result: null,
    error: null,
    servedTier: null,
    usage: null,
    httpStatus: null,
    ledgered: false,
    announced: false,
    createdAt: call.receivedAt,
    expiresAt: call.receivedAt + config.batch.queueTtlMs,
    submittedAt: null,
    finishedAt: null,
  };
  await db.insert(deferredItems).values(item);
  services.metrics.deferred.inc({ provider: item.provider, status: 'queued' });
  return deferredView(item);
}

export async function findItem(db: Db, id: string): Promise<DeferredItem | undefined> {
  const rows = await db.select().from(deferredItems).where(eq(deferredItems.id, id)).limit(1);
  return rows[0];
}

/** A deferred request as its owner sees it; another key's item is "not found", as if absent. */
export async function getOwnItem(db: Db, keyId: string, id: string): Promise<DeferredItem> {
  const item = await findItem(db, id);
  if (!item || item.keyId !== keyId) {
    throw new SluiceError('not_found', `No deferred request "${id}" for this key. Use the id from the 202 answer, with the key that sent the request.`);
  }
  return item;
}

export interface ItemQuery {
  keyId?: string;
  status?: DeferredStatus;
  jobId?: string;
  limit: number;
  /** An item id: items created before it (ids sort by creation time). */
  cursor?: string;
}

/** Deferred items, newest first, with the next page's cursor. */
export async function listItems(db: Db, query: ItemQuery): Promise<{ data: DeferredItem[]; next_cursor: string | null }> {
  const conditions: SQL[] = [];
  if (query.keyId !== undefined) conditions.push(eq(deferredItems.keyId, query.keyId));
  if (query.status !== undefined) conditions.push(eq(deferredItems.status, query.status));
  if (query.jobId !== undefined) conditions.push(eq(deferredItems.jobId, query.jobId));
  if (query.cursor !== undefined) conditions.push(lt(deferredItems.id, query.cursor));
  const rows = await db
    .select()
    .from(deferredItems)
    .where(conditions.length ? and(...conditions) : undefined)
    .orderBy(desc(deferredItems.id))
    .limit(query.limit + 1);
  const page = rows.slice(0, query.limit);
  return { data: page, next_cursor: rows.length > query.limit ? (page[page.length - 1]?.id ?? null) : null };
}

/** The chat request an item carries, rebuilt as the adapter sends it (never streamed). */
export function itemTarget(item: DeferredItem, model: CatalogModel, tier: ChatTarget['tier'], timeoutMs: number, nowMs: number): ChatTarget {
  const request = ChatRequest.parse(JSON.parse(item.request));
  // The batch API sets the tier; a service_tier the caller sent would contradict it.
  delete request.service_tier;
  return { request, model, stream: false, tier, timeoutMs, nowMs };
}
