/**
 * One HTTP exchange with the sim: request facts, the protocol it speaks, and the ways to answer
 * (JSON, a paced stream, a protocol-shaped error, or a fault behaviour).
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SimContext } from './context';
import { SimError, type ErrorKind, type ErrorResponse } from './errors';
import { errorKindOfFault, type FaultKind, type FaultProbe } from './faults';
import type { IdFactory } from './hash';

/** What differs between the wire protocols outside their request handlers. */
export interface Protocol {
  /** Header that carries the request id (`x-request-id`, `request-id`, `x-amzn-RequestId`). */
  requestIdHeader: string;
  newRequestId(ids: IdFactory): string;
  /** Throws a SimError when the request's credentials are missing or refused. */
  authenticate(call: SimCall, body: Buffer): void;
  renderError(error: SimError, requestId: string): ErrorResponse;
  /** The provider's usual wording for an error of this kind (used for injected faults). */
  standardMessage(kind: ErrorKind): string;
}

/** Faults that shape the answer rather than replace it with an error status. */
export type BehaviourFault = Extract<FaultKind, 'disconnect' | 'bad-json' | 'stream-error'>;

export interface StreamAnswer {
  contentType: string;
  frames: ReadonlyArray<string | Buffer>;
  /** Frame sent in place of the rest of the stream for `stream-error`. */
  errorFrame: string | Buffer;
  /** A frame whose payload is not valid JSON, for `bad-json`. */
  malformedFrame: string | Buffer;
}

const EMPTY_BODY = Buffer.alloc(0);

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class SimCall {
  readonly requestId: string;

  constructor(
    readonly ctx: SimContext,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly protocol: Protocol,
    /** Path as sent (percent-encoded), needed for SigV4. */
    readonly rawPath: string,
    /** Decoded path segments matched by the route's parameters. */
    readonly params: readonly string[],
    readonly query: URLSearchParams,
  ) {
    this.requestId = protocol.newRequestId(ctx.ids);
  }

  /** Checks credentials with the protocol's rules; `body` is needed for request signing (SigV4). */
  authenticate(body: Buffer = EMPTY_BODY): void {
    this.protocol.authenticate(this, body);
  }

  header(name: string): string | undefined {
    const value = this.req.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  }

  /** Reads the whole body, refusing (413-style) anything above `limitBytes`. */
  async readBody(limitBytes: number, tooLargeMessage: string): Promise<Buffer> {
    const declared = Number(this.req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limitBytes) {
      this.req.resume();
      throw new SimError('too_large', tooLargeMessage);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of this.req) {
      const buffer = chunk as Buffer;
      size += buffer.length;
      if (size > limitBytes) throw new SimError('too_large', tooLargeMessage);
      chunks.push(buffer);
    }
    return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
  }

  private baseHeaders(contentType: string): Record<string, string> {
    return { 'content-type': contentType, [this.protocol.requestIdHeader]: this.requestId };
  }

  sendJson(status: number, value: unknown): void {
    this.sendText(status, JSON.stringify(value), 'application/json');
  }

  sendText(status: number, body: string | Buffer, contentType: string, headers: Record<string, string> = {}): void {
    if (this.res.destroyed) return;
    this.res.writeHead(status, {
      ...this.baseHeaders(contentType),
      'content-length': String(Buffer.byteLength(body)),
      ...headers,
    });
    this.res.end(body);
  }

  sendError(error: SimError): void {
    const rendered = this.protocol.renderError(error, this.requestId);
    if (this.res.headersSent) {
      this.res.destroy();
      return;
    }
    this.sendText(rendered.status, rendered.body, 'application/json', rendered.headers);
  }

  /**
   * Consults injected rules and prompt markers. Error-status faults throw; `timeout` holds the
   * response open (returns 'held'); other behaviours are returned for the responder to apply.
   */
  takeFault(probe: FaultProbe): BehaviourFault | 'held' | null {
    const fault = this.ctx.faults.take(probe);
    if (!fault) return null;
    const kind = errorKindOfFault(fault.kind);
    if (kind) {
      throw new SimError(kind, this.protocol.standardMessage(kind), { retryAfterSeconds: fault.retryAfterSeconds });
    }
    if (fault.kind === 'timeout') {
      this.hold();
      return 'held';
    }
    return fault.kind as BehaviourFault;
  }

  /** Accepts the request and never answers, until the client gives up or the sim closes. */
  private hold(): void {
    const held = this.ctx.heldResponses;
    held.add(this.res);
    this.res.on('close', () => held.delete(this.res));
  }

  /** Waits like a model would before answering: fixed latency, time to first token, generation time. */
  async waitBeforeAnswer(generatedTokens: number | null): Promise<void> {
    const { fixedLatencyMs, firstTokenMs, perTokenMs } = this.ctx.options;
    const total = fixedLatencyMs + (generatedTokens === null ? 0 : firstTokenMs + perTokenMs * generatedTokens);
    if (total > 0) await delay(total);
  }

  /** Non-streaming answer, possibly spoiled by a behaviour fault. */
  answerJson(value: unknown, behaviour: BehaviourFault | null): void {
    const body = JSON.stringify(value);
    switch (behaviour) {
      case null:
        this.sendText(200, body, 'application/json');
        return;
      case 'bad-json':
        this.sendText(200, body.slice(0, Math.max(1, Math.floor(body.length / 2))), 'application/json');
        return;
      case 'disconnect':
        // Promise the full length, deliver half, drop the connection.
        this.res.writeHead(200, { ...this.baseHeaders('application/json'), 'content-length': String(Buffer.byteLength(body)) });
        this.res.write(body.slice(0, Math.floor(body.length / 2)), () => this.res.destroy());
        return;
      case 'stream-error':
        this.sendError(new SimError('server', this.protocol.standardMessage('server')));
        return;
    }
  }

  /**
   * Streams frames after `fixedLatencyMs`, waiting `firstTokenMs` before the first and
   * `perTokenMs` between the others. Stops quietly when the client goes away.
   */
  async answerStream(answer: StreamAnswer, behaviour: BehaviourFault | null): Promise<void> {
    const { fixedLatencyMs, firstTokenMs, perTokenMs } = this.ctx.options;
    if (fixedLatencyMs > 0) await delay(fixedLatencyMs);
    if (this.res.destroyed) return;
    this.res.writeHead(200, { ...this.baseHeaders(answer.contentType), 'cache-control': 'no-cache' });

    let frames = answer.frames;
    const half = Math.max(1, Math.floor(frames.length / 2));
    if (behaviour === 'bad-json') frames = [...frames.slice(0, half), answer.malformedFrame];
    if (behaviour === 'stream-error') frames = [...frames.slice(0, half), answer.errorFrame];
    if (behaviour === 'disconnect') frames = frames.slice(0, half);

    if (firstTokenMs === 0 && perTokenMs === 0) {
      const all = frames.every((f) => typeof f === 'string') ? frames.join('') : Buffer.concat(frames.map((f) => (typeof f === 'string' ? Buffer.from(f) : f)));
      this.finishStream(all, behaviour);
      return;
    }
    for (let i = 0; i < frames.length; i++) {
      const wait = i === 0 ? firstTokenMs : perTokenMs;
      if (wait > 0) await delay(wait);
      if (this.res.destroyed) return;
      if (i === frames.length - 1) this.finishStream(frames[i] as string | Buffer, behaviour);
      else this.res.write(frames[i] as string | Buffer);
    }
  }

  private finishStream(last: string | Buffer, behaviour: BehaviourFault | null): void {
    if (behaviour === 'disconnect') this.res.write(last, () => this.res.destroy());
    else this.res.end(last);
  }
}
