import type { Context } from 'hono';
import { SluiceError } from '../errors';
import type { CallerSignal } from '../providers/transport';
import type { AppEnv } from './types';
import { utf8Length } from '../util/utf8';

/**
 * On @hono/node-server, `c.env` carries Node's own request and response. Reading the body and
 * watching for the caller leaving through them avoids materializing a WHATWG Request per call
 * (its body stream and AbortSignal cost more CPU than the rest of the gateway's work). Elsewhere
 * (Workers, `app.request()` in tests) the standard Request is used. Duck-typed on purpose:
 * nothing here imports Node.
 */
interface NodeBindings {
  incoming: {
    /** Header names as sent, each followed by its value. */
    rawHeaders: string[];
    on(event: 'data', listener: (chunk: Uint8Array) => void): unknown;
    on(event: 'end' | 'close', listener: () => void): unknown;
    on(event: 'error', listener: (error: Error) => void): unknown;
    readableEnded: boolean;
    destroy(): unknown;
  };
  outgoing: NodeResponse;
}

/** Node's response (HTTP/1.1 or the HTTP/2 compatibility API), as much as a streamed answer needs. */
export interface NodeResponse {
  readonly writableFinished: boolean;
  writeHead(status: number, headers: Record<string, string>): unknown;
  /** False when the socket's buffer is full: wait for 'drain'. */
  write(chunk: string | Uint8Array): boolean;
  end(chunk?: string | Uint8Array): unknown;
  once(event: 'close' | 'drain', listener: () => void): unknown;
  removeListener(event: 'close' | 'drain', listener: () => void): unknown;
  /** Sends the status line and headers now, before any body. */
  flushHeaders(): void;
}

function nodeBindings(c: Context<AppEnv>): NodeBindings | undefined {
  const env = c.env as Partial<NodeBindings> | undefined;
  return env && typeof env === 'object' && env.incoming && env.outgoing ? (env as NodeBindings) : undefined;
}

export function tooLarge(limit: number): SluiceError {
  return new SluiceError('payload_too_large', `The request body is larger than this gateway's limit of ${limit} bytes (SLUICE_MAX_BODY_BYTES).`);
}

/**
 * A request header by its lower-case name, duplicates joined by ", " as WHATWG Headers joins
 * them. On Node it is read from the raw header list: building a Headers object for a request
 * costs several times more than the lookups themselves.
 */
export function requestHeader(c: Context<AppEnv>, name: string): string | undefined {
  const node = nodeBindings(c);
  if (!node) return c.req.header(name);
  const raw = node.incoming.rawHeaders;
  let value: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i]!;
    if (key.length === name.length && key.toLowerCase() === name) value = value === undefined ? raw[i + 1] : `${value}, ${raw[i + 1]}`;
  }
  return value;
}

/** The request body as text, refused with 413 as soon as it passes `limit` bytes (chunked bodies included). */
export async function readBodyText(c: Context<AppEnv>, limit: number): Promise<string> {
  const node = nodeBindings(c);
  if (!node) {
    const text = await c.req.text();
    if (text.length > limit && utf8Length(text) > limit) throw tooLarge(limit);
    return text;
  }
  return readNodeBody(node.incoming, limit);
}

/** Collects the body from Node's events (an async iterator per request costs more than the read). */
function readNodeBody(incoming: NodeBindings['incoming'], limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    let done = false;
    incoming.on('data', (chunk) => {
      if (done) return;
      size += chunk.byteLength;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      done = true;
      incoming.destroy();
      reject(tooLarge(limit));
    });
    incoming.on('end', () => {
      if (done) return;
      done = true;
      resolve(decodeChunks(chunks, size));
    });
    incoming.on('error', (error) => {
      if (done) return;
      done = true;
      reject(error);
    });
    incoming.on('close', () => {
      if (done || incoming.readableEnded) return;
      done = true;
      reject(new Error('the caller closed the connection while sending the body'));
    });
  });
}

const utf8 = new TextDecoder();

function decodeChunks(chunks: Uint8Array[], size: number): string {
  if (chunks.length === 1) return utf8.decode(chunks[0]);
  const whole = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    whole.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return utf8.decode(whole);
}

/** Node's own response, to write a streamed answer to directly; undefined off Node. */
export function nodeResponse(c: Context<AppEnv>): NodeResponse | undefined {
  return nodeBindings(c)?.outgoing;
}

/** What a handler returns once it has written the answer to Node's response itself. */
export function alreadySent(): Response {
  return new Response(null, { headers: { 'x-hono-already-sent': 'true' } });
}

/**
 * A whole JSON answer, status 200, then its bookkeeping: `answer.record` runs exactly once, after
 * the write, even when rendering the body fails (the upstream answered; the request is recorded).
 * On Node the answer is written to the socket directly, as streams are: a Response for
 * @hono/node-server to copy out took about 25 µs more between the upstream's answer and the
 * caller's, on a core just woken from idle (measured in-process, paced at 250 req/s). Elsewhere
 * it is a Response, and the bookkeeping is done before it is returned.
 */
export function sendJson(c: Context<AppEnv>, answer: { headers: Record<string, string>; record(): void }, render: () => string): Response {
  try {
    const body = render();
    const { headers } = answer;
    headers['content-type'] = 'application/json';
    const out = nodeResponse(c);
    if (!out) return new Response(body, { status: 200, headers });
    // Declared, the length sends the answer in one piece instead of chunked.
    headers['content-length'] = String(utf8Length(body));
    out.writeHead(200, headers);
    out.end(body);
    return alreadySent();
  } finally {
    answer.record();
  }
}

/**
 * Fires when the caller goes away before the answer is complete. On Node it is built on the
 * response's close event (see CallerSignal for why not an AbortController).
 */
export function callerSignal(c: Context<AppEnv>): CallerSignal {
  const node = nodeBindings(c);
  if (!node) return c.req.raw.signal;
  // The response holds the signal, not the other way round: whatever keeps the signal after the
  // request (a pending call, a log) must not keep the response and its socket with it.
  const signal = new ListenerSignal();
  const { outgoing } = node;
  outgoing.once('close', () => {
    if (!outgoing.writableFinished) signal.abort();
  });
  return signal;
}

class ListenerSignal implements CallerSignal {
  aborted = false;
  private listeners: Array<() => void> = [];

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const listeners = this.listeners;
    this.listeners = [];
    for (const listener of listeners) listener();
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    if (!this.aborted) this.listeners.push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const at = this.listeners.indexOf(listener);
    if (at >= 0) this.listeners.splice(at, 1);
  }
}
