/** OpenAI's authentication and error shapes: `{"error":{"message","type","param","code"}}`. */

import type { Protocol, SimCall } from '../call';
import { SimError, type ErrorKind, type ErrorResponse } from '../errors';

const STATUS: Record<ErrorKind, number> = {
  invalid_request: 400,
  authentication: 401,
  permission: 403,
  not_found: 404,
  too_large: 413,
  rate_limit: 429,
  flex_capacity: 429,
  server: 500,
  model_timeout: 500,
  overloaded: 503,
  model_not_ready: 503,
};

const TYPE: Record<ErrorKind, string> = {
  invalid_request: 'invalid_request_error',
  authentication: 'invalid_request_error',
  permission: 'invalid_request_error',
  not_found: 'invalid_request_error',
  too_large: 'invalid_request_error',
  rate_limit: 'requests',
  flex_capacity: 'resource_unavailable',
  server: 'server_error',
  model_timeout: 'server_error',
  overloaded: 'server_error',
  model_not_ready: 'server_error',
};

const DEFAULT_CODE: Partial<Record<ErrorKind, string>> = {
  rate_limit: 'rate_limit_exceeded',
  flex_capacity: 'resource_unavailable',
};

const MESSAGES: Record<ErrorKind, string> = {
  invalid_request: 'Invalid request.',
  authentication: 'Incorrect API key provided.',
  permission: 'You are not allowed to make this request.',
  not_found: 'Not found.',
  too_large: 'Request body too large.',
  rate_limit:
    'Rate limit reached for requests per min (RPM): Limit 500, Used 500, Requested 1. Please try again in 1s. Visit https://platform.openai.com/account/rate-limits to learn more.',
  flex_capacity:
    'Resource Unavailable: flex processing has no capacity for this request right now. You were not charged. Retry with exponential backoff, or send the request with service_tier "auto" or "default".',
  server: 'The server had an error while processing your request. Sorry about that!',
  model_timeout: 'The model took too long to produce a response. Please retry your request.',
  overloaded: 'The server is overloaded or not ready yet.',
  model_not_ready: 'The model is loading and not ready to serve requests yet. Please retry shortly.',
};

export function renderOpenAIError(error: SimError): ErrorResponse {
  const { kind, detail } = error;
  const headers: Record<string, string> = {};
  if (kind === 'rate_limit' || kind === 'flex_capacity') {
    const seconds = detail.retryAfterSeconds ?? 1;
    headers['retry-after'] = String(seconds);
    headers['x-ratelimit-remaining-requests'] = '0';
    headers['x-ratelimit-reset-requests'] = `${seconds}s`;
  }
  const body = {
    error: {
      message: error.message,
      type: TYPE[kind],
      param: detail.param ?? null,
      code: detail.code ?? DEFAULT_CODE[kind] ?? null,
    },
  };
  return { status: STATUS[kind], headers, body: JSON.stringify(body) };
}

/** `sk-abc…wxyz` → `sk-ab*****wxyz`, as OpenAI echoes a refused key. */
function maskKey(key: string): string {
  if (key.length <= 8) return '*'.repeat(key.length);
  return key.slice(0, 5) + '*'.repeat(Math.min(key.length - 9, 30)) + key.slice(-4);
}

function authenticateOpenAI(call: SimCall): void {
  const header = call.header('authorization') ?? '';
  const key = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim() ?? '';
  if (key === '') {
    throw new SimError(
      'authentication',
      "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY). You can obtain an API key from https://platform.openai.com/account/api-keys.",
    );
  }
  const allowed = call.ctx.options.apiKeys;
  if (allowed && !allowed.has(key)) {
    throw new SimError(
      'authentication',
      `Incorrect API key provided: ${maskKey(key)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
      { code: 'invalid_api_key' },
    );
  }
}

/** The caller's key, after authentication: prompt caches are scoped to it (as to an organization). */
export function openAIKey(call: SimCall): string {
  return /^Bearer\s+(.+)$/i.exec(call.header('authorization') ?? '')?.[1]?.trim() ?? '';
}

export const openAIProtocol: Protocol = {
  requestIdHeader: 'x-request-id',
  newRequestId: (ids) => ids.next('req_', 32, 'hex'),
  authenticate: authenticateOpenAI,
  renderError: renderOpenAIError,
  standardMessage: (kind) => MESSAGES[kind],
};
