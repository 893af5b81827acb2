import type { LookupFunction } from 'node:net';
import http from 'node:http';
import https from 'node:https';
import { TransportError, type Transport, type UpstreamRequest, type UpstreamResponse } from '../providers/transport';

interface Endpoint {
  https: boolean;
  hostname: string;
  port: string | number;
  path: string;
}

const utf8 = new TextDecoder();

/** Upstream URLs repeat (a few base URLs, fixed paths): parsed once each. */
const ENDPOINTS_CACHED = 256;

/**
 * One upstream call. State lives on the instance and callbacks are inline arrows or methods:
 * under tsx (`npm start`), every named closure created per request also costs a
 * defineProperty call (esbuild's keepNames).
 */
class UpstreamCall {
  private settled = false;
  private readonly timer: ReturnType<typeof setTimeout>;
  private readonly req: http.ClientRequest;
  private readonly onAbort: (() => void) | undefined;

  constructor(
    private readonly request: UpstreamRequest,
    endpoint: Endpoint,
    agent: http.Agent,
    private readonly resolve: (response: UpstreamResponse) => void,
    private readonly reject: (error: TransportError) => void,
  ) {
    const { body } = request;
    const headers: Record<string, string | number> = { ...request.headers };
    if (body !== undefined) headers['content-length'] = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
    this.req = (endpoint.https ? https : http).request(
      {
        method: request.method,
        hostname: endpoint.hostname,
        port: endpoint.port,
        path: endpoint.path,
        headers,
        agent,
        ...(request.address === undefined ? {} : { lookup: pinnedLookup(request.address) }),
      },
      (res) => this.answered(res),
    );
    this.timer = setTimeout(() => {
      this.req.destroy();
      this.fail(new TransportError('timeout', `upstream did not answer within ${request.timeoutMs} ms`));
    }, request.timeoutMs);
    if (request.signal) {
      this.onAbort = () => {
        this.req.destroy();
        this.fail(new TransportError('aborted', 'request aborted by the caller'));
      };
      request.signal.addEventListener('abort', this.onAbort, { once: true });
    }
    this.req.on('error', (error) => this.fail(new TransportError('connection', `upstream unreachable: ${error.message}`, { cause: error })));
    this.req.end(body);
  }

  private answered(res: http.IncomingMessage): void {
    this.settled = true;
    this.cleanup();
    const headers: Record<string, string> = {};
    const raw = res.headers;
    for (const name in raw) {
      const value = raw[name];
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    this.resolve(new NodeUpstreamResponse(res, this.req, headers));
  }

  private fail(error: TransportError): void {
    if (this.settled) return;
    this.settled = true;
    this.cleanup();
    this.reject(error);
  }

  private cleanup(): void {
    clearTimeout(this.timer);
    if (this.onAbort) this.request.signal?.removeEventListener('abort', this.onAbort);
  }
}

class NodeUpstreamResponse implements UpstreamResponse {
  readonly status: number;
  readonly body: AsyncIterable<Uint8Array>;

  constructor(
    private readonly res: http.IncomingMessage,
    private readonly req: http.ClientRequest,
    readonly headers: Record<string, string>,
  ) {
    this.status = res.statusCode ?? 502;
    this.body = res;
  }

  /** The whole body, collected from the stream's events (cheaper than an async iterator). */
  text(): Promise<string> {
    const { res } = this;
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve(utf8.decode(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks))));
      res.on('error', reject);
      res.on('close', () => {
        if (!res.complete) reject(new Error('the upstream closed the connection before the body was complete'));
      });
    });
  }

  abort(): void {
    this.res.destroy();
    this.req.destroy();
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
 * The Node transport: `node:http`/`node:https` with keep-alive agents. It costs a fraction of the
 * CPU of Node 20's global fetch (undici's WHATWG layer) per call, which is most of a gateway's
 * own overhead on the request path.
 */
export function createNodeTransport(options: { maxSockets?: number } = {}): { transport: Transport; close(): void } {
  // No cap on connections per upstream by default: a capped agent queues requests inside the
  // gateway (a thousand open streams to one provider would wait for each other), and the
  // upstream's own limits answer with a status the caller can act on. Idle keep-alive sockets
  // stay bounded by the agent's maxFreeSockets.
  const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? Infinity, keepAliveMsecs: 10_000 };
  const httpAgent = new http.Agent(agentOptions);
  const httpsAgent = new https.Agent(agentOptions);
  const endpoints = new Map<string, Endpoint>();

  function endpointOf(url: string): Endpoint {
    let endpoint = endpoints.get(url);
    if (!endpoint) {
      const parsed = new URL(url);
      const isHttps = parsed.protocol === 'https:';
      endpoint = { https: isHttps, hostname: parsed.hostname.replace(/^\[|\]$/g, ''), port: parsed.port || (isHttps ? 443 : 80), path: parsed.pathname + parsed.search };
      if (endpoints.size >= ENDPOINTS_CACHED) endpoints.clear();
      endpoints.set(url, endpoint);
    }
    return endpoint;
  }

  const transport: Transport = (request) =>
    new Promise<UpstreamResponse>((resolve, reject) => {
      const endpoint = endpointOf(request.url);
      new UpstreamCall(request, endpoint, endpoint.https ? httpsAgent : httpAgent, resolve, reject);
    });

  return {
    transport,
    close: () => {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
