import type { Config } from '../../config';
import { anthropicAdapter } from '../../providers/anthropic';
import { asRecord, parseJsonl, send, type BatchClient, type BatchDeps, type LineOutcome } from './types';

/**
 * Anthropic Message Batches: `POST /v1/messages/batches` with `{requests: [{custom_id, params}]}`,
 * poll `GET /v1/messages/batches/{id}` until `processing_status` is `ended`, then read the JSONL
 * results. Results are fetched from the configured base URL (never the `results_url` host), so
 * the API key only ever goes where the operator pointed it.
 */

const FIND_PAGES = 20;
const FIND_SLACK_MS = 10 * 60_000;

function headers(config: Config, json = false): Record<string, string> {
  const { apiKey, version } = config.providers.anthropic;
  const out: Record<string, string> = { accept: 'application/json', 'anthropic-version': version };
  if (json) out['content-type'] = 'application/json';
  if (apiKey) out['x-api-key'] = apiKey;
  return out;
}

function url(config: Config, path: string): string {
  return `${config.providers.anthropic.baseUrl}/v1/messages/batches${path}`;
}

async function getJson(deps: BatchDeps, path: string): Promise<Record<string, unknown>> {
  return asRecord(JSON.parse(await send(deps, anthropicAdapter, { method: 'GET', url: url(deps.config, path), headers: headers(deps.config) })), `Anthropic batches${path}`);
}

/** Anthropic error types → the HTTP status its synchronous API answers them with. */
const ERROR_STATUS: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  overloaded_error: 529,
};

function outcomeOfResult(result: Record<string, unknown>): LineOutcome {
  switch (result.type) {
    case 'succeeded':
      return { kind: 'succeeded', body: JSON.stringify(result.message) };
    case 'canceled':
      return { kind: 'cancelled' };
    case 'expired':
      return { kind: 'expired' };
    default: {
      const error = (result.error as { error?: { type?: string; message?: string } } | undefined)?.error;
      const type = error?.type ?? 'api_error';
      return { kind: 'errored', status: ERROR_STATUS[type] ?? 500, code: type, message: error?.message ?? 'The request failed in the batch.' };
    }
  }
}

function requestTotal(batch: { request_counts?: Record<string, number> }): number {
  return Object.values(batch.request_counts ?? {}).reduce((sum, n) => sum + n, 0);
}

export const anthropicBatchClient: BatchClient = {
  provider: 'anthropic',
  // Per message batch: 100,000 requests and 256 MB.
  limits: { maxItems: 100_000, maxBytes: 256 * 1024 * 1024 },

  line(customId, body) {
    return `{"custom_id":${JSON.stringify(customId)},"params":${body}}`;
  },

  async create(deps, _job, lines) {
    const created = await send(deps, anthropicAdapter, {
      method: 'POST',
      url: url(deps.config, ''),
      headers: headers(deps.config, true),
      body: `{"requests":[${lines.join(',')}]}`,
    });
    return String(asRecord(JSON.parse(created), 'Anthropic message batch').id);
  },

  /**
   * Message batches carry no metadata, so an interrupted submission is recognised by shape: a
   * batch created since the job, with the job's number of requests, that no other job owns. Two
   * such candidates are ambiguous; the job then waits for an operator rather than risk a double.
   */
  async findCreated(deps, job, known) {
    const candidates: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < FIND_PAGES; page++) {
      const list = await getJson(deps, `?limit=100${after ? `&after_id=${encodeURIComponent(after)}` : ''}`);
      const data = (list.data ?? []) as Array<{ id: string; created_at: string; request_counts?: Record<string, number> }>;
      let older = false;
      for (const batch of data) {
        if (Date.parse(batch.created_at) < job.sendingAt - FIND_SLACK_MS) {
          older = true;
          break;
        }
        if (!known.has(batch.id) && requestTotal(batch) === job.itemCount) candidates.push(batch.id);
      }
      const last = data.at(-1);
      if (older || !list.has_more || !last) break;
      after = last.id;
    }
    if (candidates.length > 1) {
      throw new Error(`job ${job.id}: ${candidates.length} Anthropic batches (${candidates.join(', ')}) could be its interrupted submission; resolve with "sluice batch show ${job.id}"`);
    }
    return candidates[0];
  },

  async poll(deps, upstreamId) {
    const batch = await getJson(deps, `/${encodeURIComponent(upstreamId)}`);
    const status = String(batch.processing_status);
    return { status, ended: status === 'ended' };
  },

  async results(deps, upstreamId, customIds) {
    const text = await send(deps, anthropicAdapter, { method: 'GET', url: url(deps.config, `/${encodeURIComponent(upstreamId)}/results`), headers: headers(deps.config) });
    const outcomes = new Map<string, LineOutcome>();
    for (const value of parseJsonl(text)) {
      const line = asRecord(value, 'Anthropic batch result line');
      if (typeof line.custom_id === 'string') outcomes.set(line.custom_id, outcomeOfResult(asRecord(line.result, 'result')));
    }
    for (const id of customIds) {
      if (!outcomes.has(id)) outcomes.set(id, { kind: 'errored', status: 502, code: 'missing_result', message: `Anthropic batch ${upstreamId} ended without a result for this request.` });
    }
    return outcomes;
  },

  async cancel(deps, upstreamId) {
    await send(deps, anthropicAdapter, { method: 'POST', url: url(deps.config, `/${encodeURIComponent(upstreamId)}/cancel`), headers: headers(deps.config) });
  },
};
