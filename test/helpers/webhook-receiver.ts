import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ReceivedWebhook {
  path: string;
  headers: Record<string, string>;
  body: string;
  /** The payload as `standardwebhooks` verified it; undefined when verification failed. */
  verified: unknown;
  verifyError: string | undefined;
  /** What the receiver answered. */
  status: number;
  /** performance.now() when the request arrived. */
  at: number;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Wait this long before answering (to provoke a timeout). */
  delayMs?: number;
}

export interface WebhookReceiver {
  url: string;
  port: number;
  /** Every request, in arrival order. */
  received: ReceivedWebhook[];
  /** TCP connections accepted so far (proves a refused URL was never contacted). */
  connections(): number;
  /** The secret signatures are verified with (set after registering the endpoint). */
  secret: string | undefined;
  /** Decides the answer to the n-th request (0-based); default 204. */
  reply: (n: number, request: { path: string; body: string }) => Reply;
  /** Forgets what arrived and answers 204 again (between tests). */
  reset(): void;
  /** Resolves when `count` requests have arrived. */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedWebhook[]>;
  close(): Promise<void>;
}

/** A webhook receiver on 127.0.0.1 that checks every signature with the `standardwebhooks` package. */
export async function startReceiver(): Promise<WebhookReceiver> {
  let connections = 0;
  const receiver: WebhookReceiver = {
    url: '',
    port: 0,
    received: [],
    connections: () => connections,
    secret: undefined,
    reply: () => ({ status: 204 }),
    reset() {
      receiver.received.length = 0;
      receiver.reply = () => ({ status: 204 });
    },
    async waitFor(count, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (receiver.received.length < count) {
        if (Date.now() > deadline) throw new Error(`receiver got ${receiver.received.length} of ${count} webhooks`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      return receiver.received;
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const at = performance.now();
      const body = Buffer.concat(chunks).toString('utf8');
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers[name] = value;
      let verified: unknown;
      let verifyError: string | undefined;
      try {
        if (!receiver.secret) throw new Error('no secret set on the receiver');
        verified = new Webhook(receiver.secret).verify(body, headers);
      } catch (error) {
        verifyError = (error as Error).message;
      }
      const path = req.url ?? '/';
      const reply = receiver.reply(receiver.received.length, { path, body });
      receiver.received.push({ path, headers, body, verified, verifyError, status: reply.status, at });
      const send = (): void => {
        res.writeHead(reply.status, reply.headers ?? {});
        res.end(reply.body ?? '');
      };
      if (reply.delayMs) setTimeout(send, reply.delayMs);
      else send();
    });
  };

  const server = createServer(handle);
  server.on('connection', () => {
    connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  receiver.port = (server.address() as AddressInfo).port;
  receiver.url = `http://127.0.0.1:${receiver.port}`;
  return receiver;
}
