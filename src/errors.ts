/**
 * One error type for everything the gateway answers on purpose. Routes render it in the
 * caller's own protocol (see src/http/errors.ts); the code decides the HTTP status.
 */
export type ErrorCode =
  | 'invalid_request'
  | 'invalid_json'
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'model_not_found'
  | 'conflict'
  | 'budget_exceeded'
  | 'rate_limited'
  | 'upstream_error'
  | 'upstream_auth'
  | 'upstream_overloaded'
  | 'upstream_timeout'
  | 'upstream_not_configured'
  | 'client_closed'
  | 'internal';

export function statusForCode(code: ErrorCode): number {
  switch (code) {
    case 'invalid_request':
    case 'invalid_json':
      return 400;
    case 'unauthorized':
      return 401;
    case 'forbidden':
      return 403;
    case 'not_found':
    case 'model_not_found':
      return 404;
    case 'conflict':
      return 409;
    case 'payload_too_large':
      return 413;
    case 'unsupported_media_type':
      return 415;
    case 'budget_exceeded':
    case 'rate_limited':
      return 429;
    case 'upstream_error':
    case 'upstream_auth':
    case 'upstream_not_configured':
      return 502;
    case 'upstream_overloaded':
      return 503;
    case 'upstream_timeout':
      return 504;
    case 'internal':
      return 500;
    case 'client_closed':
      // nginx's convention for "the client went away"; nobody is left to read it.
      return 499;
  }
}

export interface SluiceErrorOptions {
  /** The request field at fault, as OpenAI's `param`. */
  param?: string;
  /** Override the status derived from the code (e.g. an upstream 4xx passed on as is). */
  status?: number;
  /** Extra response headers (e.g. retry-after). */
  headers?: Record<string, string>;
  cause?: unknown;
}

export class SluiceError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly param: string | undefined;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message: string, options: SluiceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SluiceError';
    this.code = code;
    this.status = options.status ?? statusForCode(code);
    this.param = options.param;
    this.headers = options.headers ?? {};
  }
}
