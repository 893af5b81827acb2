/**
 * The simulated upstream: one node:http server speaking OpenAI chat completions (+ files and
 * batches), Anthropic Messages (+ message batches) and Bedrock Converse, deterministic, with
 * configurable latency and injectable faults. See DESIGN.md, "The simulated upstream".
 *
 * Besides the provider routes it answers a few unauthenticated controls for tests and demos that
 * run it in another process: `POST /_sim/faults` (a FaultRule as JSON), `DELETE /_sim/faults`,
 * `GET /_sim/stats` and `POST /_sim/reset`.
 */

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SimCall, type Protocol } from './call';
import { SimContext, type SimStats } from './context';
import { SimError } from './errors';
import { parseFaultRule, type FaultRule } from './faults';
import { parseJson } from './json';
import { resolveOptions, type SimOptions } from './options';
import {
  handleCancelMessageBatch,
  handleCreateMessageBatch,
  handleDeleteMessageBatch,
  handleListMessageBatches,
  handleMessageBatchResults,
  handleRetrieveMessageBatch,
} from './anthropic/batches';
import { handleCountTokens, handleMessages } from './anthropic/messages';
import { anthropicProtocol } from './anthropic/protocol';
import { handleBedrockCountTokens, handleConverse, handleConverseStream } from './bedrock/converse';
import { bedrockProtocol } from './bedrock/protocol';
import { handleCancelBatch, handleCreateBatch, handleListBatches, handleRetrieveBatch } from './openai/batches';
import { handleChatCompletions } from './openai/chat';
import { handleDeleteFile, handleFileContent, handleListFiles, handleRetrieveFile, handleUploadFile } from './openai/files';
import { handleListModels, handleRetrieveModel } from './openai/models';
import { openAIProtocol } from './openai/protocol';

export type { SimOptions, AwsCredentials, BatchLimits } from './options';
export type { SimStats } from './context';
export type { FaultRule, FaultKind, FaultMatch } from './faults';
export { FAULT_KINDS } from './faults';
export { countTokens } from './tokenizer';

/** The environment that points Sluice's upstreams at a running sim (it takes any non-empty key). */
export function upstreamEnvFor(simUrl: string): Record<string, string> {
  return {
    OPENAI_BASE_URL: `${simUrl}/v1`,
    OPENAI_API_KEY: 'sk-sim',
    ANTHROPIC_BASE_URL: simUrl,
    ANTHROPIC_API_KEY: 'sk-sim',
    BEDROCK_BASE_URL: simUrl,
    AWS_BEARER_TOKEN_BEDROCK: 'sim',
  };
}

export interface SimServer {
  /** `http://127.0.0.1:PORT` (no trailing slash, no `/v1`). */
  url: string;
  port: number;
  close(): Promise<void>;
  /** Request counts per route and per model since start (or the last reset). */
  stats(): SimStats;
  /** Forgets everything: statistics, faults, prompt caches, files and batches. */
  reset(): void;
  injectFault(rule: FaultRule): void;
  clearFaults(): void;
}

interface Route {
  method: string;
  /** Route template, used as the statistics key. */
  template: string;
  pattern: RegExp;
  protocol: Protocol;
  handle(call: SimCall): Promise<void> | void;
}

function route(method: string, template: string, protocol: Protocol, handle: Route['handle']): Route {
  // `{name}` matches one path segment; Bedrock's `{modelId}` may contain encoded slashes (ARNs).
  const source = template.replace(/\{[^}]+\}/g, '([^/]+)').replace(/\//g, '\\/');
  return { method, template, pattern: new RegExp(`^${source}$`), protocol, handle };
}

const ROUTES: Route[] = [
  route('POST', '/v1/chat/completions', openAIProtocol, handleChatCompletions),
  route('GET', '/v1/models', openAIProtocol, handleListModels),
  route('GET', '/v1/models/{model}', openAIProtocol, handleRetrieveModel),
  route('POST', '/v1/files', openAIProtocol, handleUploadFile),
  route('GET', '/v1/files', openAIProtocol, handleListFiles),
  route('GET', '/v1/files/{file_id}', openAIProtocol, handleRetrieveFile),
  route('GET', '/v1/files/{file_id}/content', openAIProtocol, handleFileContent),
  route('DELETE', '/v1/files/{file_id}', openAIProtocol, handleDeleteFile),
  route('POST', '/v1/batches', openAIProtocol, handleCreateBatch),
  route('GET', '/v1/batches', openAIProtocol, handleListBatches),
  route('GET', '/v1/batches/{batch_id}', openAIProtocol, handleRetrieveBatch),
  route('POST', '/v1/batches/{batch_id}/cancel', openAIProtocol, handleCancelBatch),
  route('POST', '/v1/messages', anthropicProtocol, handleMessages),
  route('POST', '/v1/messages/count_tokens', anthropicProtocol, handleCountTokens),
  route('POST', '/v1/messages/batches', anthropicProtocol, handleCreateMessageBatch),
  route('GET', '/v1/messages/batches', anthropicProtocol, handleListMessageBatches),
  route('GET', '/v1/messages/batches/{message_batch_id}', anthropicProtocol, handleRetrieveMessageBatch),
  route('POST', '/v1/messages/batches/{message_batch_id}/cancel', anthropicProtocol, handleCancelMessageBatch),
  route('DELETE', '/v1/messages/batches/{message_batch_id}', anthropicProtocol, handleDeleteMessageBatch),
  route('GET', '/v1/messages/batches/{message_batch_id}/results', anthropicProtocol, handleMessageBatchResults),
  route('POST', '/model/{modelId}/converse', bedrockProtocol, handleConverse),
  route('POST', '/model/{modelId}/converse-stream', bedrockProtocol, handleConverseStream),
  route('POST', '/model/{modelId}/count-tokens', bedrockProtocol, handleBedrockCountTokens),
];

/** Routes that exist under another method, for OpenAI-style "Invalid URL" answers. */
function protocolForUnknownPath(path: string): Protocol {
  return ROUTES.find((r) => path.startsWith(r.template.split('{')[0] as string))?.protocol ?? openAIProtocol;
}

function decodeParams(match: RegExpExecArray): string[] | null {
  try {
    return match.slice(1).map((segment) => decodeURIComponent(segment));
  } catch {
    return null;
  }
}

async function dispatch(ctx: SimContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? '/';
  const queryStart = url.indexOf('?');
  const rawPath = queryStart === -1 ? url : url.slice(0, queryStart);
  const query = new URLSearchParams(queryStart === -1 ? '' : url.slice(queryStart + 1));
  const method = req.method ?? 'GET';

  if (rawPath.startsWith('/_sim/')) {
    await handleControl(ctx, method, rawPath, req, res);
    return;
  }

  let matched: { route: Route; params: string[] } | null = null;
  for (const candidate of ROUTES) {
    if (candidate.method !== method) continue;
    const match = candidate.pattern.exec(rawPath);
    const params = match && decodeParams(match);
    if (params) {
      matched = { route: candidate, params };
      break;
    }
  }
  if (!matched) {
    const call = new SimCall(ctx, req, res, protocolForUnknownPath(rawPath), rawPath, [], query);
    req.resume();
    call.sendError(new SimError('not_found', `Invalid URL (${method} ${rawPath})`));
    return;
  }

  ctx.stats.recordRoute(`${method} ${matched.route.template}`);
  const call = new SimCall(ctx, req, res, matched.route.protocol, rawPath, matched.params, query);
  try {
    await matched.route.handle(call);
  } catch (error) {
    req.resume();
    if (error instanceof SimError) call.sendError(error);
    else call.sendError(new SimError('server', `The sim failed while handling this request: ${String(error)}`));
  }
}

async function readControlBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return parseJson(Buffer.concat(chunks).toString('utf8'));
}

/** `/_sim/*`: test and demo controls (faults, statistics, reset), plain JSON, no auth. */
async function handleControl(ctx: SimContext, method: string, path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const reply = (status: number, value: unknown): void => {
    const body = JSON.stringify(value);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
    res.end(body);
  };
  if (path === '/_sim/faults' && method === 'POST') {
    try {
      ctx.faults.inject(parseFaultRule(await readControlBody(req)));
      reply(201, { ok: true });
    } catch (error) {
      reply(400, { error: (error as Error).message });
    }
    return;
  }
  req.resume();
  if (path === '/_sim/faults' && method === 'DELETE') {
    ctx.faults.clear();
    reply(200, { ok: true });
  } else if (path === '/_sim/stats' && method === 'GET') {
    reply(200, ctx.stats.snapshot());
  } else if (path === '/_sim/reset' && method === 'POST') {
    ctx.reset();
    reply(200, { ok: true });
  } else {
    reply(404, { error: `unknown control route ${method} ${path}: use POST|DELETE /_sim/faults, GET /_sim/stats or POST /_sim/reset` });
  }
}

export async function startSim(options: SimOptions = {}): Promise<SimServer> {
  const resolved = resolveOptions(options);
  const ctx = new SimContext(resolved);
  const server = createServer({ keepAliveTimeout: 65_000, noDelay: true }, (req, res) => {
    void dispatch(ctx, req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(resolved.port, resolved.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = resolved.host.includes(':') ? `[${resolved.host}]` : resolved.host;

  return {
    url: `http://${host}:${port}`,
    port,
    stats: () => ctx.stats.snapshot(),
    reset: () => ctx.reset(),
    injectFault: (rule) => ctx.faults.inject(parseFaultRule(rule)),
    clearFaults: () => ctx.faults.clear(),
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const held of ctx.heldResponses) held.destroy();
        ctx.heldResponses.clear();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
