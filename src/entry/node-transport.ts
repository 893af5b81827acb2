import type { LookupFunction } from 'node:net';
import { Agent, Client, type Dispatcher } from 'undici';
import { TransportError, type Transport, type UpstreamRequest, type UpstreamResponse } from '../providers/transport';

interface Endpoint {
  origin: string;
  path: string;
}

const utf8 = new TextDecoder();

/** Upstream URLs repeat (a few base URLs, fixed paths): parsed once each. */
const ENDPOINTS_CACHED = 256;
/** A streamed answer the caller reads slower than the upstream sends stops reading from the socket past this many bytes. */
const BUFFERED_BYTES_HIGH = 64 * 1024;

/**
 * No time limits of undici's own: the call's `timeoutMs` (to the response headers) is timed here,
 * from the call's start, and a stream's silences are timed by its reader (src/gateway/idle-read.ts).
 */
const DISPATCHER_OPTIONS = { headersTimeout: 0, bodyTimeout: 0 } as const;

/**
 * One upstream call, as an undici dispatch handler: undici calls its methods as the exchange goes,
 * so a call is one object rather than a closure per event.
 */
class UpstreamCall implements Dispatcher.DispatchHandlers {
  private settled = false;
  private abortUpstream: ((error: Error) => void) | undefined;
  private response: NodeUpstreamResponse | undefined;
  private readonly timer: ReturnType<typeof setTimeout>;
  private readonly onCallerAbort: (() => void) | undefined;

  constructor(
    private readonly request: UpstreamRequest,
    private readonly resolve: (response: UpstreamResponse) => void,
    private readonly reject: (error: TransportError) => void,
    /** Called once the exchange is over (a dispatcher made for this call closes). */
    private readonly finished?: () => void,
  ) {
    this.timer = setTimeout(() => this.fail(new TransportError('timeout', `upstream did not answer within ${request.timeoutMs} ms`)), request.timeoutMs);
    if (request.signal) {
      this.onCallerAbort = () => this.fail(new TransportError('aborted', 'request aborted by the caller'));
      request.signal.addEventListener('abort', this.onCallerAbort, { once: true });
    }
  }

  onConnect(abort: (error?: Error) => void): void {
    this.abortUpstream = abort;
    // Failed (timed out, or the caller left) before undici got this far.
    if (this.settled && !this.response) abort(new Error('the call was given up'));
  }

  onHeaders(status: number, rawHeaders: Buffer[], resume: () => void): boolean {
    // An informational answer (103 Early Hints) comes before the real one.
    if (status < 200) return true;
    if (this.settled) return false;
    this.settled = true;
    this.cleanup();
    const headers: Record<string, string> = {};
    for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
      const name = rawHeaders[i]!.toString('latin1').toLowerCase();
      const value = rawHeaders[i + 1]!.toString('latin1');
      const seen = headers[name];
      headers[name] = seen === undefined ? value : `${seen}, ${value}`;
    }
    this.response = new NodeUpstreamResponse(status, headers, resume, (error) => this.abortUpstream?.(error));
    this.resolve(this.response);
    return true;
  }

  onData(chunk: Buffer): boolean {
    return this.response ? this.response.push(chunk) : false;
  }

  onComplete(): void {
    this.response?.end();
    this.finished?.();
  }

  onError(error: Error): void {
    if (this.response) this.response.fail(error);
    else this.fail(new TransportError('connection', `upstream unreachable: ${error.message}`, { cause: error }));
    this.finished?.();
  }

  private fail(error: TransportError): void {
    if (this.settled) return;
    this.settled = true;
    this.cleanup();
    this.abortUpstream?.(error);
    this.reject(error);
  }

  private cleanup(): void {
    clearTimeout(this.timer);
    if (this.onCallerAbort) this.request.signal?.removeEventListener('abort', this.onCallerAbort);
  }
}

/**
 * The answer's body as it arrives: collected whole by `text()`, or read piece by piece through
 * `body`. A reader that falls behind by more than BUFFERED_BYTES_HIGH pauses the socket.
 */
class NodeUpstreamResponse implements UpstreamResponse, AsyncIterable<Uint8Array>, AsyncIterator<Uint8Array> {
  readonly body: AsyncIterable<Uint8Array> = this;
  private readonly chunks: Buffer[] = [];
  private bufferedBytes = 0;
  private paused = false;
  private collecting = false;
  private done = false;
  private error: Error | undefined;
  /** A reader waiting for the next piece, or for the end. */
  private wake: (() => void) | undefined;

  constructor(
    readonly status: number,
    readonly headers: Record<string, string>,
    private readonly resume: () => void,
    private readonly abortUpstream: (error: Error) => void,
  ) {}

  /** From undici: false asks it to stop reading until `resume`. */
  push(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.byteLength;
    this.wakeReader();
    if (this.collecting || this.bufferedBytes < BUFFERED_BYTES_HIGH) return true;
    this.paused = true;
    return false;
  }

  end(): void {
    this.done = true;
    this.wakeReader();
  }

  fail(error: Error): void {
    // After abort() the reader keeps the reason it was given.
    if (this.done || this.error) return;
    this.error = new Error(`the upstream connection failed before the body was complete: ${error.message}`, { cause: error });
    this.wakeReader();
  }

  async text(): Promise<string> {
    this.collecting = true;
    this.resumeIfPaused();
    while (!this.done) {
      if (this.error) throw this.error;
      await this.arrival();
    }
    const { chunks } = this;
    return utf8.decode(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this;
  }

  async next(): Promise<IteratorResult<Uint8Array>> {
    for (;;) {
      const chunk = this.chunks.shift();
      if (chunk) {
        this.bufferedBytes -= chunk.byteLength;
        if (this.bufferedBytes < BUFFERED_BYTES_HIGH) this.resumeIfPaused();
        return { done: false, value: chunk };
      }
      if (this.error) throw this.error;
      if (this.done) return { done: true, value: undefined };
      await this.arrival();
    }
  }

  /** A reader that stops early (`break` in `for await`) releases the connection. */
  async return(): Promise<IteratorResult<Uint8Array>> {
    this.abort();
    return { done: true, value: undefined };
  }

  abort(): void {
    if (this.done || this.error) return;
    this.error = new Error('the answer was abandoned');
    this.wakeReader();
    this.abortUpstream(this.error);
  }

  /** Resolves when a piece, the end or a failure arrives. */
  private arrival(): Promise<void> {
    return new Promise((resolve) => (this.wake = resolve));
  }

  private wakeReader(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private resumeIfPaused(): void {
    if (!this.paused) return;
    this.paused = false;
    this.resume();
  }
}

/** A DNS lookup that always answers with one vetted address (see UpstreamRequest.address). */
function pinnedLookup(address: string): LookupFunction {
  const family = address.includes(':') ? 6 : 4;
  return (_hostname, options, callback) => {
    if (options.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
}

/**
 * The Node transport: undici's dispatcher API with keep-alive connection pools per origin. Its
 * client side costs a fraction of the CPU of Node 20's global fetch (undici's WHATWG layer on
 * top of the same dispatcher) and of `node:http`'s ClientRequest and Agent per call, and the
 * upstream leg is most of a gateway's own overhead on the request path.
 */
export function createNodeTransport(options: { maxSockets?: number } = {}): { transport: Transport; close(): void } {
  // No cap on connections per upstream by default: a capped pool queues requests inside the
  // gateway (a thousand open streams to one provider would wait for each other), and the
  // upstream's own limits answer with a status the caller can act on.
  const agent = new Agent({ ...DISPATCHER_OPTIONS, connections: options.maxSockets ?? null });
  const endpoints = new Map<string, Endpoint>();

  function endpointOf(url: string): Endpoint {
    let endpoint = endpoints.get(url);
    if (!endpoint) {
      const parsed = new URL(url);
      endpoint = { origin: parsed.origin, path: parsed.pathname + parsed.search };
      if (endpoints.size >= ENDPOINTS_CACHED) endpoints.clear();
      endpoints.set(url, endpoint);
    }
    return endpoint;
  }

  const transport: Transport = (request) =>
    new Promise<UpstreamResponse>((resolve, reject) => {
      const { origin, path } = endpointOf(request.url);
      const dispatch: Dispatcher.DispatchOptions = { origin, path, method: request.method, headers: request.headers, body: request.body ?? null };
      if (request.address === undefined) {
        agent.dispatch(dispatch, new UpstreamCall(request, resolve, reject));
        return;
      }
      // A pinned address connects through a client of its own, closed when the exchange is over.
      const pinned = new Client(origin, { ...DISPATCHER_OPTIONS, connect: { lookup: pinnedLookup(request.address) } });
      pinned.dispatch(dispatch, new UpstreamCall(request, resolve, reject, () => void pinned.close()));
    });

  return {
    transport,
    close: () => void agent.destroy(),
  };
}
