/**
 * Protocol-neutral errors. Validators and faults throw a SimError with a kind; each protocol
 * renders it with its own status code, body shape and headers (see each `protocol.ts`).
 */

export type ErrorKind =
  | 'invalid_request'
  | 'authentication'
  | 'permission'
  | 'not_found'
  | 'too_large'
  | 'rate_limit'
  | 'flex_capacity'
  | 'server'
  | 'overloaded'
  | 'model_timeout'
  | 'model_not_ready';

export interface SimErrorDetail {
  /** OpenAI's `param` (the offending field path). */
  param?: string | null;
  /** OpenAI's `code`, or a Bedrock exception name override. */
  code?: string | null;
  /** Seconds for the `retry-after` header on throttling errors. */
  retryAfterSeconds?: number;
}

export class SimError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly detail: SimErrorDetail = {},
  ) {
    super(message);
    this.name = 'SimError';
  }
}

export function invalidRequest(message: string, param: string | null = null, code: string | null = null): SimError {
  return new SimError('invalid_request', message, { param, code });
}

/** A rendered error response. */
export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}
