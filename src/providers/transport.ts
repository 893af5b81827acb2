/**
 * The one door to the upstreams. On Workers it is `fetch`; on Node undici's dispatcher with
 * keep-alive pools (src/entry/node-transport.ts), because Node 20's global fetch costs most of a
 * millisecond of CPU per call. Adapters build requests as plain data; only this port does I/O.
 */
export interface UpstreamRequest {
  method: 'GET' | 'POST' | 'DELETE';
  url: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  /** Abort when the upstream has not sent response headers within this many ms. */
  timeoutMs: number;
  signal?: CallerSignal;
  /**
   * Connect to this IP instead of resolving the URL's host again (TLS and Host still use the
   * name): the webhook SSRF guard vets the resolved address and pins it, so a second DNS answer
   * cannot redirect the request. Transports that cannot pin (fetch) ignore it.
   */
  address?: string;
}

export interface UpstreamResponse {
  status: number;
  /** Lower-case header names. */
  headers: Record<string, string>;
  body: AsyncIterable<Uint8Array>;
  text(): Promise<string>;
  /** Stops reading and releases the connection (used when the caller goes away mid-stream). */
  abort(): void;
}

export type Transport = (request: UpstreamRequest) => Promise<UpstreamResponse>;

/**
 * Fires when the caller goes away: the part of AbortSignal the request path uses, so an
 * AbortSignal is one (Workers, `app.request()`). On Node the gateway builds a lighter one from the
 * response's close (src/http/raw.ts): an AbortController per request, with Node's EventTarget
 * listeners added and removed, cost several percent of the CPU per request.
 */
export interface CallerSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** Thrown by transports when the upstream cannot be reached or does not answer in time. */
export class TransportError extends Error {
  override name = 'TransportError';
  constructor(
    readonly kind: 'timeout' | 'connection' | 'aborted',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export async function readAll(body: AsyncIterable<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of body) text += decoder.decode(chunk, { stream: true });
  return text + decoder.decode();
}
