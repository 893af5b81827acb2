import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { getRequestListener, type Http2Bindings, type HttpBindings } from '@hono/node-server';
import type { RequestsInFlight } from './node-requests';

export interface ListenOptions {
  port: number;
  host: string;
  /** PEM certificate and key: serve TLS, with h2 and http/1.1 negotiated by ALPN. */
  tls?: { cert: Buffer; key: Buffer };
}

export interface Listening {
  address: AddressInfo;
  /** Stops accepting, lets in-flight requests finish, then closes every connection. */
  close(): Promise<void>;
}

/** What a client sends first on a prior-knowledge HTTP/2 connection; no HTTP/1.x method starts so. */
const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

/** The app's fetch; Node's own request and response ride along as `env` (src/http/raw.ts reads them). */
type Fetch = (request: Request, env: HttpBindings | Http2Bindings) => Response | Promise<Response>;

/**
 * Serves HTTP/1.1 and HTTP/2 on one port. In cleartext the connection's first bytes decide: the
 * HTTP/2 preface (prior-knowledge h2c, what the AWS SDK's Bedrock client speaks to an http://
 * endpoint) goes to an HTTP/2 server, anything else to an HTTP/1.1 one. With a certificate, TLS
 * offers h2 and http/1.1 by ALPN.
 */
export async function listen(fetch: Fetch, options: ListenOptions, requests: RequestsInFlight): Promise<Listening> {
  const handler = getRequestListener(fetch, { hostname: options.host });
  const listener = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse): void => {
    requests.begin();
    res.once('close', () => requests.end());
    void handler(req, res);
  };

  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  const track = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  const trackSessions = (server: http2.Http2Server | http2.Http2SecureServer): void => {
    server.on('session', (session: http2.ServerHttp2Session) => {
      sessions.add(session);
      session.once('close', () => sessions.delete(session));
    });
  };

  let outer: net.Server;
  let h1: http.Server | undefined;
  if (options.tls) {
    const secure = http2.createSecureServer({ cert: options.tls.cert, key: options.tls.key, allowHTTP1: true, noDelay: true }, listener);
    trackSessions(secure);
    secure.on('secureConnection', track);
    outer = secure;
  } else {
    h1 = http.createServer(listener);
    const h2 = http2.createServer({}, listener);
    trackSessions(h2);
    // No Nagle: a stream's small writes must leave at once (http.createServer does the same for
    // the sockets it accepts itself; these are accepted here and handed over).
    outer = net.createServer({ noDelay: true }, (socket) => {
      track(socket);
      sniff(socket, h1!, h2);
    });
  }

  await new Promise<void>((resolve, reject) => {
    outer.once('error', reject);
    outer.listen(options.port, options.host, () => {
      outer.off('error', reject);
      resolve();
    });
  });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => outer.close(() => resolve()));
      for (const session of sessions) session.close();
      h1?.closeIdleConnections();
      await requests.drained();
      for (const socket of sockets) socket.destroy();
      await stopped;
    })());

  return { address: outer.address() as AddressInfo, close };
}

/** Reads just enough of a new connection to see whether it opens with the HTTP/2 preface. */
function sniff(socket: net.Socket, h1: http.Server, h2: http2.Http2Server): void {
  let head = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    head = Buffer.concat([head, chunk]);
    const seen = Math.min(head.length, H2_PREFACE.length);
    const isH2 = head.subarray(0, seen).equals(H2_PREFACE.subarray(0, seen));
    if (isH2 && seen < H2_PREFACE.length) return;
    socket.off('data', onData);
    socket.pause();
    socket.unshift(head);
    if (isH2) {
      // The HTTP/2 session reads what is already buffered on its own (on the next tick).
      h2.emit('connection', socket);
    } else {
      h1.emit('connection', socket);
      socket.resume();
    }
  };
  socket.on('data', onData);
  socket.on('error', () => socket.destroy());
}
