import type { Config } from '../../config';
import { openaiAdapter } from '../../providers/openai';
import { randomSecret } from '../../util/ids';
import { asRecord, parseJsonl, send, type BatchClient, type BatchDeps, type LineOutcome } from './types';

/**
 * OpenAI Batch API: upload the JSONL input with `POST /v1/files` (multipart, purpose=batch),
 * `POST /v1/batches` for /v1/chat/completions with a 24h window, poll `GET /v1/batches/{id}`,
 * then read the output and error files, matching lines by custom_id. The job id travels as batch
 * metadata, which is how an interrupted submission is found again.
 */

const ENDED = new Set(['completed', 'failed', 'expired', 'cancelled']);
/** How far back the provider's batch list is searched for an interrupted submission. */
const FIND_PAGES = 20;
const FIND_SLACK_MS = 10 * 60_000;

function headers(config: Config, contentType?: string): Record<string, string> {
  const { apiKey, organization } = config.providers.openai;
  const out: Record<string, string> = { accept: 'application/json' };
  if (contentType) out['content-type'] = contentType;
  if (apiKey) out.authorization = `Bearer ${apiKey}`;
  if (organization) out['openai-organization'] = organization;
  return out;
}

function url(config: Config, path: string): string {
  return `${config.providers.openai.baseUrl}${path}`;
}

/** A multipart/form-data body with the `purpose` field and the JSONL file. */
export function multipartUpload(filename: string, content: string, boundary: string): Uint8Array {
  const encoder = new TextEncoder();
  const head =
    `--${boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n` +
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: application/jsonl\r\n\r\n`;
  const parts = [encoder.encode(head), encoder.encode(content), encoder.encode(`\r\n--${boundary}--\r\n`)];
  const body = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    body.set(part, offset);
    offset += part.byteLength;
  }
  return body;
}

async function getJson(deps: BatchDeps, path: string): Promise<Record<string, unknown>> {
  return asRecord(JSON.parse(await send(deps, openaiAdapter, { method: 'GET', url: url(deps.config, path), headers: headers(deps.config) })), `OpenAI ${path}`);
}

async function fileContent(deps: BatchDeps, fileId: string): Promise<unknown[]> {
  const text = await send(deps, openaiAdapter, { method: 'GET', url: url(deps.config, `/files/${encodeURIComponent(fileId)}/content`), headers: headers(deps.config) });
  return parseJsonl(text);
}

/** One output- or error-file line → what became of that request. */
function outcomeOfLine(line: Record<string, unknown>): LineOutcome {
  const response = line.response as { status_code?: number; body?: unknown } | null | undefined;
  const error = line.error as { code?: string; message?: string } | null | undefined;
  if (response && response.status_code === 200) return { kind: 'succeeded', body: JSON.stringify(response.body) };
  if (error?.code === 'batch_expired') return { kind: 'expired' };
  if (error?.code === 'batch_cancelled') return { kind: 'cancelled' };
  const bodyError = (response?.body as { error?: { code?: string | null; type?: string; message?: string } } | undefined)?.error;
  return {
    kind: 'errored',
    status: response?.status_code ?? 500,
    code: bodyError?.code ?? bodyError?.type ?? error?.code ?? 'batch_item_failed',
    message: bodyError?.message ?? error?.message ?? 'The request failed in the batch.',
  };
}

export const openaiBatchClient: BatchClient = {
  provider: 'openai',
  // Per input file: 50,000 requests and 200 MB.
  limits: { maxItems: 50_000, maxBytes: 200 * 1024 * 1024 },

  line(customId, body) {
    return `{"custom_id":${JSON.stringify(customId)},"method":"POST","url":"/v1/chat/completions","body":${body}}`;
  },

  async create(deps, job, lines, onInputFile) {
    let fileId = job.inputFileId;
    if (fileId === null) {
      // Random, so no prompt in the file can contain it.
      const boundary = `sluice-${randomSecret(18)}`;
      const uploaded = await send(deps, openaiAdapter, {
        method: 'POST',
        url: url(deps.config, '/files'),
        headers: headers(deps.config, `multipart/form-data; boundary=${boundary}`),
        body: multipartUpload(`${job.id}.jsonl`, `${lines.join('\n')}\n`, boundary),
      });
      fileId = String(asRecord(JSON.parse(uploaded), 'OpenAI file').id);
      await onInputFile(fileId);
    }
    const created = await send(deps, openaiAdapter, {
      method: 'POST',
      url: url(deps.config, '/batches'),
      headers: headers(deps.config, 'application/json'),
      body: JSON.stringify({ input_file_id: fileId, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { sluice_job_id: job.id } }),
    });
    return String(asRecord(JSON.parse(created), 'OpenAI batch').id);
  },

  async findCreated(deps, job) {
    let after: string | undefined;
    for (let page = 0; page < FIND_PAGES; page++) {
      const list = await getJson(deps, `/batches?limit=100${after ? `&after=${encodeURIComponent(after)}` : ''}`);
      const data = (list.data ?? []) as Array<{ id: string; created_at?: number; metadata?: Record<string, string> | null }>;
      const mine = data.find((batch) => batch.metadata?.sluice_job_id === job.id);
      if (mine) return mine.id;
      const oldest = data.at(-1);
      // Newest first: once past the job's creation, no older batch can be its.
      if (!list.has_more || !oldest || (oldest.created_at ?? 0) * 1000 < job.sendingAt - FIND_SLACK_MS) return undefined;
      after = oldest.id;
    }
    return undefined;
  },

  async poll(deps, upstreamId) {
    const batch = await getJson(deps, `/batches/${encodeURIComponent(upstreamId)}`);
    const status = String(batch.status);
    return { status, ended: ENDED.has(status) };
  },

  async results(deps, upstreamId, customIds) {
    const batch = await getJson(deps, `/batches/${encodeURIComponent(upstreamId)}`);
    const outcomes = new Map<string, LineOutcome>();
    if (batch.status === 'failed') {
      // Validation failed the whole file: lines it names failed on their own; the rest never ran.
      const errors = ((batch.errors as { data?: Array<{ line?: number | null; code?: string; message?: string }> } | null)?.data ?? []);
      for (const error of errors) {
        const customId = error.line ? customIds[error.line - 1] : undefined;
        if (customId) outcomes.set(customId, { kind: 'errored', status: 400, code: error.code ?? 'invalid_request', message: error.message ?? 'The batch rejected this request.' });
      }
      const reason = errors.find((e) => !e.line) ?? errors[0];
      for (const id of customIds) {
        if (!outcomes.has(id)) outcomes.set(id, { kind: 'retry', code: reason?.code ?? 'batch_failed', message: reason?.message ?? 'The provider batch failed.' });
      }
      return outcomes;
    }
    for (const fileId of [batch.output_file_id, batch.error_file_id]) {
      if (typeof fileId !== 'string') continue;
      for (const value of await fileContent(deps, fileId)) {
        const line = asRecord(value, 'OpenAI batch result line');
        if (typeof line.custom_id === 'string') outcomes.set(line.custom_id, outcomeOfLine(line));
      }
    }
    // Lines the files do not mention were never run: the batch ended before them.
    const missing: LineOutcome =
      batch.status === 'expired'
        ? { kind: 'expired' }
        : batch.status === 'cancelled'
          ? { kind: 'cancelled' }
          : { kind: 'errored', status: 502, code: 'missing_result', message: `OpenAI batch ${upstreamId} completed without a result for this request.` };
    for (const id of customIds) if (!outcomes.has(id)) outcomes.set(id, missing);
    return outcomes;
  },

  async cancel(deps, upstreamId) {
    await send(deps, openaiAdapter, { method: 'POST', url: url(deps.config, `/batches/${encodeURIComponent(upstreamId)}/cancel`), headers: headers(deps.config) });
  },
};
