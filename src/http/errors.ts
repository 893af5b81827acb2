import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { SluiceError, type ErrorCode } from '../errors';
import type { AppEnv, Protocol } from './types';

const OPENAI_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'invalid_request_error',
  409: 'invalid_request_error',
  413: 'invalid_request_error',
  415: 'invalid_request_error',
  429: 'rate_limit_error',
};

const ANTHROPIC_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  409: 'invalid_request_error',
  413: 'request_too_large',
  415: 'invalid_request_error',
  429: 'rate_limit_error',
  503: 'overloaded_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

const BEDROCK_TYPES: Record<number, string> = {
  400: 'ValidationException',
  401: 'UnrecognizedClientException',
  403: 'AccessDeniedException',
  404: 'ResourceNotFoundException',
  408: 'ModelTimeoutException',
  409: 'ConflictException',
  413: 'ValidationException',
  415: 'ValidationException',
  429: 'ThrottlingException',
  503: 'ServiceUnavailableException',
  504: 'ModelTimeoutException',
};

export interface RenderedError {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Renders an error in a protocol's own shape (DESIGN.md "Errors are answered in the caller's protocol"). */
export function renderError(protocol: Protocol, error: SluiceError): RenderedError {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...error.headers };
  const status = error.status;
  switch (protocol) {
    case 'anthropic':
      return {
        // Anthropic answers "overloaded" with its own 529, which its clients retry.
        status: error.code === 'upstream_overloaded' ? 529 : status,
        headers,
        body: JSON.stringify({ type: 'error', error: { type: ANTHROPIC_TYPES[status] ?? 'api_error', message: error.message } }),
      };
    case 'bedrock':
      headers['x-amzn-errortype'] = BEDROCK_TYPES[status] ?? 'InternalServerException';
      return { status, headers, body: JSON.stringify({ message: error.message }) };
    case 'openai':
    case 'admin':
      return {
        status,
        headers,
        body: JSON.stringify({
          error: { message: error.message, type: OPENAI_TYPES[status] ?? 'api_error', param: error.param ?? null, code: error.code },
        }),
      };
  }
}

/** Formats a zod path the way OpenAI names parameters: messages[0].content. */
export function paramPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out ? `.${String(segment)}` : String(segment);
  }
  return out;
}

export function fromZodError(error: z.ZodError, what = 'request body'): SluiceError {
  const issue = error.issues[0];
  if (!issue) return new SluiceError('invalid_request', `Invalid ${what}.`);
  const param = paramPath(issue.path);
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more problem${error.issues.length > 2 ? 's' : ''})` : '';
  return new SluiceError('invalid_request', `Invalid ${param ? `'${param}'` : what}: ${issue.message}${more}`, param ? { param } : {});
}

function toSluiceError(error: unknown): SluiceError {
  if (error instanceof SluiceError) return error;
  if (error instanceof z.ZodError) return fromZodError(error);
  if (error instanceof HTTPException) {
    const code: ErrorCode = error.status === 404 ? 'not_found' : error.status === 413 ? 'payload_too_large' : error.status < 500 ? 'invalid_request' : 'internal';
    return new SluiceError(code, error.message || 'Request failed.', { status: error.status });
  }
  return new SluiceError('internal', 'Sluice hit an internal error; the request id in x-sluice-request-id identifies it in the logs.');
}

/** The app's one error handler: logs server faults, answers in the route's protocol. */
export function handleError(error: unknown, c: Context<AppEnv>): Response {
  const sluiceError = toSluiceError(error);
  const requestId = c.get('requestId');
  if (sluiceError.status >= 500) {
    c.get('services')?.deps.logger.error('request failed', {
      request_id: requestId,
      code: sluiceError.code,
      error: error instanceof Error ? error.message : String(error),
      stack: sluiceError === error ? undefined : (error as Error | undefined)?.stack,
    });
  }
  const rendered = renderError(c.get('protocol') ?? 'admin', sluiceError);
  return c.body(rendered.body, rendered.status as ContentfulStatusCode, { ...rendered.headers, ...(requestId ? { 'x-sluice-request-id': requestId } : {}) });
}
