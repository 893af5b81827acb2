/**
 * Anthropic Message Batches. Requests are validated and run when the batch is created (params
 * errors become `errored` results, as Anthropic validates params asynchronously); the batch then
 * shows `in_progress` for `batchDelayMs` on the injected clock and `ended` after, or `canceling`
 * for `batchDelayMs` after a cancel. Results are served as JSONL at `results_url`.
 */

import type { SimCall } from '../call';
import type { SimContext } from '../context';
import { COMPLETION_WINDOW_MS, itemsProcessedBy } from '../batch-timeline';
import { SimError, invalidRequest } from '../errors';
import { errorKindOfFault } from '../faults';
import { isObject, isString, parseJson, type JsonObject } from '../json';
import { completeMessage, renderMessage } from './messages';
import { anthropicErrorObject, anthropicProtocol } from './protocol';
import { validateMessagesRequest } from './validate';

const CUSTOM_ID = /^[a-zA-Z0-9_-]{1,64}$/;

type ItemResult = { type: 'succeeded'; message: unknown } | { type: 'errored'; error: unknown };

interface BatchItem {
  customId: string;
  result: ItemResult;
}

interface MessageBatchRecord {
  id: string;
  createdAtMs: number;
  items: BatchItem[];
  cancelRequestedAtMs: number | null;
  /** Base for `results_url`: the scheme and host the batch was created through. */
  origin: string;
}

export class AnthropicBatchStore {
  readonly batches = new Map<string, MessageBatchRecord>();

  clear(): void {
    this.batches.clear();
  }
}

interface MessageBatchView {
  status: 'in_progress' | 'canceling' | 'ended';
  processed: number;
  endedAt: number | null;
  /** Why unprocessed requests did not run, once ended. */
  unprocessedAs: 'canceled' | 'expired';
}

function viewAt(record: MessageBatchRecord, nowMs: number, stepMs: number): MessageBatchView {
  const expiresAt = record.createdAtMs + COMPLETION_WINDOW_MS;
  const cancelAt = record.cancelRequestedAtMs !== null && record.cancelRequestedAtMs <= nowMs ? record.cancelRequestedAtMs : null;
  const workEnd = Math.min(nowMs, cancelAt ?? Infinity, expiresAt);
  const processed = itemsProcessedBy(record.items.length, record.createdAtMs, stepMs, workEnd);
  if (cancelAt !== null) {
    const endedAt = cancelAt + stepMs;
    return { status: nowMs >= endedAt ? 'ended' : 'canceling', processed, endedAt: nowMs >= endedAt ? endedAt : null, unprocessedAs: 'canceled' };
  }
  const finishedAt = Math.min(record.createdAtMs + stepMs, expiresAt);
  if (nowMs >= finishedAt) return { status: 'ended', processed, endedAt: finishedAt, unprocessedAs: 'expired' };
  return { status: 'in_progress', processed, endedAt: null, unprocessedAs: 'expired' };
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** How every batch looks in the answer to its creation, whatever the configured delay. */
const JUST_CREATED: MessageBatchView = { status: 'in_progress', processed: 0, endedAt: null, unprocessedAs: 'expired' };

function renderBatch(ctx: SimContext, record: MessageBatchRecord) {
  return batchObject(record, viewAt(record, ctx.now(), ctx.options.batchDelayMs));
}

function batchObject(record: MessageBatchRecord, view: MessageBatchView) {
  const done = record.items.slice(0, view.processed);
  const unprocessed = record.items.length - view.processed;
  const ended = view.status === 'ended';
  return {
    id: record.id,
    type: 'message_batch',
    processing_status: view.status,
    request_counts: {
      processing: ended ? 0 : unprocessed,
      succeeded: done.filter((item) => item.result.type === 'succeeded').length,
      errored: done.filter((item) => item.result.type === 'errored').length,
      canceled: ended && view.unprocessedAs === 'canceled' ? unprocessed : 0,
      expired: ended && view.unprocessedAs === 'expired' ? unprocessed : 0,
    },
    ended_at: iso(view.endedAt),
    created_at: iso(record.createdAtMs),
    expires_at: iso(record.createdAtMs + COMPLETION_WINDOW_MS),
    archived_at: null,
    cancel_initiated_at: iso(record.cancelRequestedAtMs),
    results_url: ended ? `${record.origin}/v1/messages/batches/${record.id}/results` : null,
  };
}

function errored(ctx: SimContext, error: SimError): ItemResult {
  return { type: 'errored', error: { type: 'error', error: anthropicErrorObject(error.kind, error.message), request_id: anthropicProtocol.newRequestId(ctx.ids) } };
}

/** Runs one batch request like the synchronous API would, at batch tier and without prompt caching. */
function runItem(ctx: SimContext, params: JsonObject): ItemResult {
  try {
    if (params.stream === true) throw invalidRequest('stream: streaming is not supported for batch requests');
    const request = validateMessagesRequest(params);
    const fault = ctx.faults.takeMarker({ path: '/v1/messages', model: request.model, body: JSON.stringify(params), flexRequested: false });
    if (fault) {
      const kind = errorKindOfFault(fault.kind) ?? 'server';
      return errored(ctx, new SimError(kind, anthropicProtocol.standardMessage(kind)));
    }
    return { type: 'succeeded', message: renderMessage(completeMessage(ctx, request, null, 'batch')) };
  } catch (error) {
    if (error instanceof SimError) return errored(ctx, error);
    throw error;
  }
}

function requireBatch(ctx: SimContext, id: string): MessageBatchRecord {
  const record = ctx.anthropicBatches.batches.get(id);
  if (!record) throw new SimError('not_found', `Message batch ${id} not found.`);
  return record;
}

function validateRequests(value: unknown, maxRequests: number): Array<{ customId: string; params: JsonObject }> {
  if (value === undefined) throw invalidRequest('requests: Field required');
  if (!Array.isArray(value)) throw invalidRequest('requests: Input should be a valid list');
  if (value.length === 0) throw invalidRequest('requests: List should have at least 1 item after validation, not 0');
  if (value.length > maxRequests) throw invalidRequest(`requests: List should have at most ${maxRequests} items after validation, not ${value.length}`);
  const seen = new Set<string>();
  return value.map((entry: unknown, i) => {
    if (!isObject(entry)) throw invalidRequest(`requests.${i}: Input should be a valid dictionary`);
    if (!isString(entry.custom_id)) throw invalidRequest(`requests.${i}.custom_id: Field required`);
    if (!CUSTOM_ID.test(entry.custom_id)) throw invalidRequest(`requests.${i}.custom_id: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'`);
    if (seen.has(entry.custom_id)) throw invalidRequest(`requests.${i}.custom_id: Duplicate custom_id '${entry.custom_id}': every request in a batch needs a unique custom_id.`);
    seen.add(entry.custom_id);
    if (!isObject(entry.params)) throw invalidRequest(`requests.${i}.params: Field required`);
    return { customId: entry.custom_id, params: entry.params };
  });
}

export async function handleCreateMessageBatch(call: SimCall): Promise<void> {
  const ctx = call.ctx;
  const limits = ctx.options.batchLimits;
  const body = await call.readBody(limits.anthropicMaxBytes, 'Request exceeds the maximum allowed number of bytes.');
  call.authenticate(body);
  const parsed = parseJson(body.toString('utf8'));
  if (!isObject(parsed)) throw invalidRequest('There was an issue with your request body: it is not a valid JSON object.');
  const requests = validateRequests(parsed.requests, limits.anthropicMaxRequests);
  const record: MessageBatchRecord = {
    id: ctx.ids.next('msgbatch_01', 22),
    createdAtMs: ctx.now(),
    items: requests.map(({ customId, params }) => ({ customId, result: runItem(ctx, params) })),
    cancelRequestedAtMs: null,
    origin: `http://${call.header('host') ?? `${ctx.options.host}:${ctx.options.port}`}`,
  };
  ctx.anthropicBatches.batches.set(record.id, record);
  call.sendJson(200, batchObject(record, JUST_CREATED));
}

export function handleRetrieveMessageBatch(call: SimCall): void {
  call.authenticate();
  call.sendJson(200, renderBatch(call.ctx, requireBatch(call.ctx, call.params[0] ?? '')));
}

export function handleListMessageBatches(call: SimCall): void {
  call.authenticate();
  const limit = Math.min(Math.max(Number(call.query.get('limit') ?? 20) || 20, 1), 1000);
  let records = [...call.ctx.anthropicBatches.batches.values()].reverse();
  const afterId = call.query.get('after_id');
  const beforeId = call.query.get('before_id');
  if (afterId !== null) records = records.slice(records.findIndex((r) => r.id === afterId) + 1);
  if (beforeId !== null) records = records.slice(0, Math.max(0, records.findIndex((r) => r.id === beforeId)));
  const page = beforeId !== null ? records.slice(-limit) : records.slice(0, limit);
  call.sendJson(200, {
    data: page.map((record) => renderBatch(call.ctx, record)),
    has_more: records.length > page.length,
    first_id: page[0]?.id ?? null,
    last_id: page.at(-1)?.id ?? null,
  });
}

export function handleCancelMessageBatch(call: SimCall): void {
  call.authenticate();
  const ctx = call.ctx;
  const record = requireBatch(ctx, call.params[0] ?? '');
  if (viewAt(record, ctx.now(), ctx.options.batchDelayMs).status === 'ended') {
    throw invalidRequest(`Message batch ${record.id} has already ended and cannot be canceled.`);
  }
  record.cancelRequestedAtMs ??= ctx.now();
  call.sendJson(200, renderBatch(ctx, record));
}

export function handleDeleteMessageBatch(call: SimCall): void {
  call.authenticate();
  const ctx = call.ctx;
  const record = requireBatch(ctx, call.params[0] ?? '');
  if (viewAt(record, ctx.now(), ctx.options.batchDelayMs).status !== 'ended') {
    throw invalidRequest(`Message batch ${record.id} is still processing; cancel it and wait for it to end before deleting it.`);
  }
  ctx.anthropicBatches.batches.delete(record.id);
  call.sendJson(200, { id: record.id, type: 'message_batch_deleted' });
}

export function handleMessageBatchResults(call: SimCall): void {
  call.authenticate();
  const ctx = call.ctx;
  const record = requireBatch(ctx, call.params[0] ?? '');
  const view = viewAt(record, ctx.now(), ctx.options.batchDelayMs);
  if (view.status !== 'ended') {
    throw invalidRequest(`Message batch ${record.id} is still ${view.status}; results are available once processing_status is 'ended'.`);
  }
  const lines = record.items.map((item, i) =>
    JSON.stringify({ custom_id: item.customId, result: i < view.processed ? item.result : { type: view.unprocessedAs } }),
  );
  call.sendText(200, lines.join('\n') + '\n', 'application/x-jsonl');
}
