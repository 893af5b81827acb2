/**
 * OpenAI Batch API over the Files API. A batch's input is validated and every request is run
 * when the batch is created; what callers see then unfolds on the injected clock, each state
 * lasting `batchDelayMs`: validating → in_progress → finalizing → completed (or failed, expired,
 * cancelling → cancelled). Output and error files appear when the batch reaches its final state.
 */

import type { SimCall } from '../call';
import type { SimContext } from '../context';
import { SimError, invalidRequest } from '../errors';
import { errorKindOfFault } from '../faults';
import { COMPLETION_WINDOW_MS, itemsProcessedBy } from '../batch-timeline';
import { isObject, isString, parseJson, type JsonObject } from '../json';
import { completeChat, renderChatCompletion } from './chat';
import { requireFile, type StoredFile } from './files';
import { openAIProtocol, renderOpenAIError } from './protocol';
import { validateChatRequest } from './validate';

const SUPPORTED_ENDPOINTS = ['/v1/chat/completions'];

interface BatchError {
  code: string;
  message: string;
  param: string | null;
  line: number | null;
}

interface ItemOutcome {
  customId: string;
  ok: boolean;
  /** The output- or error-file line. */
  line: string;
  usage: { input: number; cached: number; output: number; reasoning: number };
}

interface BatchRecord {
  id: string;
  endpoint: string;
  inputFileId: string;
  metadata: JsonObject | null;
  createdAtMs: number;
  model: string | null;
  validationErrors: BatchError[];
  items: ItemOutcome[];
  cancelRequestedAtMs: number | null;
  outputFileId: string | null;
  errorFileId: string | null;
  /** Set once the final state has been reached and the files written. */
  settled: boolean;
}

type BatchStatus = 'validating' | 'failed' | 'in_progress' | 'finalizing' | 'completed' | 'expired' | 'cancelling' | 'cancelled';

interface BatchView {
  status: BatchStatus;
  processed: number;
  inProgressAt: number | null;
  finalizingAt: number | null;
  completedAt: number | null;
  failedAt: number | null;
  expiredAt: number | null;
  cancellingAt: number | null;
  cancelledAt: number | null;
  /** When the batch reached its final state, if it has. */
  finalAt: number | null;
}

export class OpenAIBatchStore {
  readonly batches = new Map<string, BatchRecord>();

  clear(): void {
    this.batches.clear();
  }
}

function batchError(code: string, message: string, line: number | null = null, param: string | null = null): BatchError {
  return { code, message, param, line };
}

/** Parses and checks the input file the way OpenAI's validation step does. */
function validateInput(file: StoredFile, endpoint: string, ctx: SimContext): { lines: JsonObject[]; model: string | null; errors: BatchError[] } {
  const limits = ctx.options.batchLimits;
  if (file.data.length > limits.openaiMaxFileBytes) {
    return { lines: [], model: null, errors: [batchError('file_too_large', `The input file exceeds the maximum size of ${limits.openaiMaxFileBytes} bytes.`)] };
  }
  const rawLines = file.data.toString('utf8').split('\n').filter((l) => l.trim() !== '');
  if (rawLines.length === 0) return { lines: [], model: null, errors: [batchError('empty_file', 'The input file is empty. Please provide a file with at least one request.')] };
  if (rawLines.length > limits.openaiMaxRequests) {
    return { lines: [], model: null, errors: [batchError('too_many_tasks', `The batch input file has ${rawLines.length} requests; the maximum is ${limits.openaiMaxRequests}.`)] };
  }
  const errors: BatchError[] = [];
  const lines: JsonObject[] = [];
  const seen = new Set<string>();
  let model: string | null = null;
  rawLines.forEach((raw, i) => {
    const lineNumber = i + 1;
    const parsed = parseJson(raw);
    if (!isObject(parsed)) {
      errors.push(batchError('invalid_json_line', 'This line is not parseable as valid JSON.', lineNumber));
      return;
    }
    for (const field of ['custom_id', 'method', 'url', 'body'] as const) {
      if (parsed[field] === undefined) errors.push(batchError('missing_required_parameter', `Missing required parameter: '${field}'.`, lineNumber, field));
    }
    if (!isString(parsed.custom_id) || !isString(parsed.url) || !isObject(parsed.body)) return;
    if (seen.has(parsed.custom_id)) {
      errors.push(batchError('duplicate_custom_id', `The custom_id '${parsed.custom_id}' is used more than once in this batch.`, lineNumber, 'custom_id'));
    }
    seen.add(parsed.custom_id);
    if (parsed.method !== 'POST') errors.push(batchError('invalid_method', "Only the 'POST' method is supported.", lineNumber, 'method'));
    if (parsed.url !== endpoint) errors.push(batchError('url_mismatch', 'The URL provided for this request does not match the batch endpoint.', lineNumber, 'url'));
    const lineModel = isString(parsed.body.model) ? parsed.body.model : null;
    if (model === null) model = lineModel;
    else if (lineModel !== model) {
      errors.push(batchError('model_mismatch', 'The model provided for this request does not match the model of the other requests in the file.', lineNumber, 'body.model'));
    }
    lines.push(parsed);
  });
  return { lines, model, errors: errors.slice(0, 100) };
}

/** Runs one batch request like the synchronous API would, without prompt caching. */
function runItem(ctx: SimContext, line: JsonObject): ItemOutcome {
  const customId = String(line.custom_id);
  const requestId = openAIProtocol.newRequestId(ctx.ids);
  const wrap = (statusCode: number, body: unknown) =>
    JSON.stringify({ id: ctx.ids.next('batch_req_', 32, 'hex'), custom_id: customId, response: { status_code: statusCode, request_id: requestId, body }, error: null });
  const fail = (error: SimError): ItemOutcome => {
    const rendered = renderOpenAIError(error);
    return { customId, ok: false, line: wrap(rendered.status, JSON.parse(rendered.body)), usage: { input: 0, cached: 0, output: 0, reasoning: 0 } };
  };
  try {
    const request = validateChatRequest(line.body);
    if (request.stream) throw invalidRequest('Streaming is not supported by the Batch API.', 'stream', null);
    const fault = ctx.faults.takeMarker({ path: String(line.url), model: request.model, body: JSON.stringify(line.body), flexRequested: false });
    if (fault) {
      const kind = errorKindOfFault(fault.kind) ?? 'server';
      return fail(new SimError(kind, openAIProtocol.standardMessage(kind)));
    }
    const result = completeChat(ctx, request, null);
    const { usage } = result;
    return {
      customId,
      ok: true,
      line: wrap(200, renderChatCompletion(result)),
      usage: {
        input: usage.prompt_tokens,
        cached: usage.prompt_tokens_details.cached_tokens,
        output: usage.completion_tokens,
        reasoning: usage.completion_tokens_details.reasoning_tokens,
      },
    };
  } catch (error) {
    if (error instanceof SimError) return fail(error);
    throw error;
  }
}

const seconds = (ms: number): number => Math.floor(ms / 1000);

/** The batch as it stands at `nowMs`; each state lasts `stepMs`. */
function viewAt(record: BatchRecord, nowMs: number, stepMs: number): BatchView {
  const failedValidation = record.validationErrors.length > 0;
  const validatedAt = record.createdAtMs + stepMs;
  const finalizingAt = validatedAt + stepMs;
  const completedAt = finalizingAt + stepMs;
  const expiresAt = record.createdAtMs + COMPLETION_WINDOW_MS;
  const cancelAt = record.cancelRequestedAtMs !== null && record.cancelRequestedAtMs <= nowMs ? record.cancelRequestedAtMs : null;
  // Work stops at the first of: now, cancellation, expiry.
  const workEnd = Math.min(nowMs, cancelAt ?? Infinity, expiresAt);
  const reached = (at: number): number | null => (!failedValidation && at <= workEnd ? at : null);
  const view: BatchView = {
    status: 'validating',
    processed: failedValidation ? 0 : itemsProcessedBy(record.items.length, validatedAt, stepMs, workEnd),
    inProgressAt: reached(validatedAt),
    finalizingAt: reached(finalizingAt),
    completedAt: null,
    failedAt: null,
    expiredAt: null,
    cancellingAt: null,
    cancelledAt: null,
    finalAt: null,
  };
  if (cancelAt !== null) {
    view.cancellingAt = cancelAt;
    view.status = 'cancelling';
    if (nowMs >= cancelAt + stepMs) {
      view.status = 'cancelled';
      view.cancelledAt = view.finalAt = cancelAt + stepMs;
    }
  } else if (nowMs < validatedAt) {
    view.status = 'validating';
  } else if (failedValidation) {
    view.status = 'failed';
    view.failedAt = view.finalAt = validatedAt;
  } else if (completedAt > expiresAt && nowMs >= expiresAt) {
    view.status = 'expired';
    view.expiredAt = view.finalAt = expiresAt;
  } else if (nowMs >= completedAt) {
    view.status = 'completed';
    view.completedAt = view.finalAt = completedAt;
  } else {
    view.status = nowMs >= finalizingAt ? 'finalizing' : 'in_progress';
  }
  return view;
}

/** Writes the output and error files the first time the batch is seen in a final state. */
function settle(ctx: SimContext, record: BatchRecord, view: BatchView): void {
  if (record.settled || view.finalAt === null) return;
  record.settled = true;
  if (view.status === 'failed') return;
  const processed = record.items.slice(0, view.processed);
  const outputLines = processed.filter((item) => item.ok).map((item) => item.line);
  const errorLines = processed.filter((item) => !item.ok).map((item) => item.line);
  const unfinished =
    view.status === 'expired'
      ? { code: 'batch_expired', message: 'This request could not be executed before the completion window expired.' }
      : { code: 'batch_cancelled', message: 'This request was not executed because the batch was cancelled.' };
  // A batch cancelled while still validating never started: it has no unfinished requests to report.
  const unfinishedItems = view.inProgressAt === null ? [] : record.items.slice(view.processed);
  for (const item of unfinishedItems) {
    errorLines.push(JSON.stringify({ id: ctx.ids.next('batch_req_', 32, 'hex'), custom_id: item.customId, response: null, error: unfinished }));
  }
  const write = (suffix: string, lines: string[]) => ctx.files.add(ctx, `${record.id}_${suffix}.jsonl`, 'batch_output', Buffer.from(lines.join('\n') + '\n')).id;
  if (outputLines.length > 0) record.outputFileId = write('output', outputLines);
  if (errorLines.length > 0) record.errorFileId = write('error', errorLines);
}

/** How every batch looks in the answer to its creation, whatever the configured delay. */
const JUST_CREATED: BatchView = {
  status: 'validating',
  processed: 0,
  inProgressAt: null,
  finalizingAt: null,
  completedAt: null,
  failedAt: null,
  expiredAt: null,
  cancellingAt: null,
  cancelledAt: null,
  finalAt: null,
};

/** The batch as it stands now, writing its files first if it has just reached a final state. */
function renderBatch(ctx: SimContext, record: BatchRecord) {
  const view = viewAt(record, ctx.now(), ctx.options.batchDelayMs);
  settle(ctx, record, view);
  return batchObject(record, view);
}

function batchObject(record: BatchRecord, view: BatchView) {
  const processed = record.items.slice(0, view.processed);
  const sum = (pick: (item: ItemOutcome) => number) => processed.reduce((total, item) => total + pick(item), 0);
  const unixSeconds = (ms: number | null) => (ms === null ? null : seconds(ms));
  // Requests a cancelled or expired batch never ran are reported as failed.
  const notRun = view.finalAt !== null && view.inProgressAt !== null ? record.items.length - view.processed : 0;
  return {
    id: record.id,
    object: 'batch',
    endpoint: record.endpoint,
    errors: record.validationErrors.length > 0 && view.status === 'failed' ? { object: 'list', data: record.validationErrors } : null,
    input_file_id: record.inputFileId,
    completion_window: '24h',
    status: view.status,
    output_file_id: record.outputFileId,
    error_file_id: record.errorFileId,
    created_at: seconds(record.createdAtMs),
    in_progress_at: unixSeconds(view.inProgressAt),
    expires_at: seconds(record.createdAtMs + COMPLETION_WINDOW_MS),
    finalizing_at: unixSeconds(view.finalizingAt),
    completed_at: unixSeconds(view.completedAt),
    failed_at: unixSeconds(view.failedAt),
    expired_at: unixSeconds(view.expiredAt),
    cancelling_at: unixSeconds(view.cancellingAt),
    cancelled_at: unixSeconds(view.cancelledAt),
    request_counts: {
      total: view.inProgressAt !== null ? record.items.length : 0,
      completed: processed.filter((item) => item.ok).length,
      failed: processed.filter((item) => !item.ok).length + notRun,
    },
    metadata: record.metadata,
    model: record.model,
    usage: {
      input_tokens: sum((i) => i.usage.input),
      input_tokens_details: { cached_tokens: sum((i) => i.usage.cached) },
      output_tokens: sum((i) => i.usage.output),
      output_tokens_details: { reasoning_tokens: sum((i) => i.usage.reasoning) },
      total_tokens: sum((i) => i.usage.input + i.usage.output),
    },
  };
}

function requireBatch(ctx: SimContext, id: string): BatchRecord {
  const record = ctx.openaiBatches.batches.get(id);
  if (!record) throw new SimError('not_found', `No batch found with id '${id}'.`, { param: 'batch_id' });
  return record;
}

function parseBody(body: Buffer): JsonObject {
  const parsed = parseJson(body.toString('utf8'));
  if (!isObject(parsed)) throw invalidRequest('We could not parse the JSON body of your request.', null, null);
  return parsed;
}

export async function handleCreateBatch(call: SimCall): Promise<void> {
  const body = await call.readBody(1024 * 1024, 'Request body too large.');
  call.authenticate(body);
  const params = parseBody(body);
  const ctx = call.ctx;
  if (!isString(params.input_file_id)) throw invalidRequest("Missing required parameter: 'input_file_id'.", 'input_file_id', 'missing_required_parameter');
  if (!isString(params.endpoint)) throw invalidRequest("Missing required parameter: 'endpoint'.", 'endpoint', 'missing_required_parameter');
  if (!SUPPORTED_ENDPOINTS.includes(params.endpoint)) {
    throw invalidRequest(
      `Invalid value: '${params.endpoint}'. The sim's Batch API supports: '/v1/chat/completions'.`,
      'endpoint',
      'invalid_value',
    );
  }
  if (params.completion_window !== '24h') {
    throw invalidRequest(`Invalid value: '${String(params.completion_window)}'. Supported values are: '24h'.`, 'completion_window', 'invalid_value');
  }
  if (params.metadata !== undefined && params.metadata !== null && (!isObject(params.metadata) || Object.keys(params.metadata).length > 16)) {
    throw invalidRequest("Invalid 'metadata': expected an object with at most 16 keys.", 'metadata', 'invalid_value');
  }
  const file = requireFile(ctx, params.input_file_id);
  if (file.purpose !== 'batch') {
    throw invalidRequest(`File ${file.id} has purpose '${file.purpose}'; batch input files must be uploaded with purpose 'batch'.`, 'input_file_id', 'invalid_value');
  }

  const { lines, model, errors } = validateInput(file, params.endpoint, ctx);
  const record: BatchRecord = {
    id: ctx.ids.next('batch_', 32, 'hex'),
    endpoint: params.endpoint,
    inputFileId: file.id,
    metadata: isObject(params.metadata) ? params.metadata : null,
    createdAtMs: ctx.now(),
    model,
    validationErrors: errors,
    items: errors.length === 0 ? lines.map((line) => runItem(ctx, line)) : [],
    cancelRequestedAtMs: null,
    outputFileId: null,
    errorFileId: null,
    settled: false,
  };
  ctx.openaiBatches.batches.set(record.id, record);
  call.sendJson(200, batchObject(record, JUST_CREATED));
}

export function handleRetrieveBatch(call: SimCall): void {
  call.authenticate();
  call.sendJson(200, renderBatch(call.ctx, requireBatch(call.ctx, call.params[0] ?? '')));
}

export function handleListBatches(call: SimCall): void {
  call.authenticate();
  const limit = Math.min(Math.max(Number(call.query.get('limit') ?? 20) || 20, 1), 100);
  let records = [...call.ctx.openaiBatches.batches.values()].reverse();
  const after = call.query.get('after');
  if (after !== null) records = records.slice(records.findIndex((r) => r.id === after) + 1);
  const page = records.slice(0, limit);
  call.sendJson(200, {
    object: 'list',
    data: page.map((record) => renderBatch(call.ctx, record)),
    first_id: page[0]?.id ?? null,
    last_id: page.at(-1)?.id ?? null,
    has_more: records.length > page.length,
  });
}

export async function handleCancelBatch(call: SimCall): Promise<void> {
  call.authenticate();
  const ctx = call.ctx;
  const record = requireBatch(ctx, call.params[0] ?? '');
  const status = viewAt(record, ctx.now(), ctx.options.batchDelayMs).status;
  if (status !== 'validating' && status !== 'in_progress' && status !== 'finalizing' && status !== 'cancelling') {
    throw new SimError('invalid_request', `Cannot cancel a batch with status '${status}'.`, { param: null, code: null });
  }
  record.cancelRequestedAtMs ??= ctx.now();
  call.sendJson(200, renderBatch(ctx, record));
}
