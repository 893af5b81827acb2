/** Anthropic's authentication and error shapes: `{"type":"error","error":{"type","message"},"request_id"}`. */

import type { Protocol, SimCall } from '../call';
import { SimError, invalidRequest, type ErrorKind, type ErrorResponse } from '../errors';

const STATUS_AND_TYPE: Record<ErrorKind, [number, string]> = {
  invalid_request: [400, 'invalid_request_error'],
  authentication: [401, 'authentication_error'],
  permission: [403, 'permission_error'],
  not_found: [404, 'not_found_error'],
  too_large: [413, 'request_too_large'],
  rate_limit: [429, 'rate_limit_error'],
  flex_capacity: [429, 'rate_limit_error'],
  server: [500, 'api_error'],
  model_timeout: [504, 'timeout_error'],
  overloaded: [529, 'overloaded_error'],
  model_not_ready: [529, 'overloaded_error'],
};

const MESSAGES: Record<ErrorKind, string> = {
  invalid_request: 'Invalid request.',
  authentication: 'invalid x-api-key',
  permission: 'Your API key does not have permission to use the specified resource.',
  not_found: 'Not found.',
  too_large: 'Request exceeds the maximum allowed number of bytes.',
  rate_limit:
    'This request would exceed the rate limit for your organization of 50 requests per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the response headers for current usage.',
  flex_capacity: 'Rate limited. Please retry later.',
  server: 'Internal server error',
  model_timeout: 'Request timed out while waiting for the model. Please retry.',
  overloaded: 'Overloaded',
  model_not_ready: 'Overloaded',
};

/** The error object as it appears inside an error response, a stream `error` event or a batch result. */
export function anthropicErrorObject(kind: ErrorKind, message: string): { type: string; message: string } {
  return { type: STATUS_AND_TYPE[kind][1], message };
}

function anthropicErrorStatus(kind: ErrorKind): number {
  return STATUS_AND_TYPE[kind][0];
}

function renderAnthropicError(error: SimError, requestId: string): ErrorResponse {
  const headers: Record<string, string> = {};
  if (error.kind === 'rate_limit' || error.kind === 'flex_capacity') {
    const seconds = error.detail.retryAfterSeconds ?? 1;
    headers['retry-after'] = String(seconds);
    headers['anthropic-ratelimit-requests-remaining'] = '0';
  }
  const body = { type: 'error', error: anthropicErrorObject(error.kind, error.message), request_id: requestId };
  return { status: anthropicErrorStatus(error.kind), headers, body: JSON.stringify(body) };
}

/** The key from `x-api-key`, or from `Authorization: Bearer` as Anthropic also accepts. */
export function anthropicKey(call: SimCall): string {
  const apiKey = call.header('x-api-key');
  if (apiKey) return apiKey.trim();
  return /^Bearer\s+(.+)$/i.exec(call.header('authorization') ?? '')?.[1]?.trim() ?? '';
}

function authenticateAnthropic(call: SimCall): void {
  const key = anthropicKey(call);
  if (key === '') throw new SimError('authentication', 'x-api-key header is required');
  const allowed = call.ctx.options.apiKeys;
  if (allowed && !allowed.has(key)) throw new SimError('authentication', 'invalid x-api-key');
  if (!call.header('anthropic-version')) throw invalidRequest('anthropic-version: header is required');
}

export const anthropicProtocol: Protocol = {
  requestIdHeader: 'request-id',
  newRequestId: (ids) => ids.next('req_011', 21),
  authenticate: authenticateAnthropic,
  renderError: renderAnthropicError,
  standardMessage: (kind) => MESSAGES[kind],
};
