import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createNodeTransport } from '../../src/entry/node-transport';
import { TransportError, type UpstreamRequest } from '../../src/providers/transport';

/**
 * The Node transport (undici's dispatcher) against a real HTTP server on loopback: what the
 * gateway relies on from it, answers, streams, time limits, callers that leave, pinned addresses.
 */
type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

let handler: Handler = (_req, res) => res.end();
const closedByClient: Array<Promise<void>> = [];
const server = http.createServer((req, res) => {
  closedByClient.push(new Promise((resolve) => res.once('close', () => resolve())));
  handler(req, res);
});
let origin: string;
const { transport, close } = createNodeTransport();

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(() => {
  closedByClient.length = 0;
});

afterAll(async () => {
  close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const call = (overrides: Partial<UpstreamRequest> = {}): ReturnType<typeof transport> =>
  transport({ method: 'POST', url: `${origin}/v1/chat?x=1`, headers: { 'content-type': 'application/json' }, body: '{"hello":"wörld"}', timeoutMs: 5_000, ...overrides });

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function rejection(promise: Promise<unknown>): Promise<TransportError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TransportError);
  return error as TransportError;
}

describe('Node transport', () => {
  it('sends the request as given and answers with status, lower-case headers (repeats joined) and the body', async () => {
    let seen: { method?: string; url?: string; contentType?: string; length?: string; body: string } = { body: '' };
    handler = (req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        seen = { method: req.method, url: req.url, contentType: req.headers['content-type'], length: req.headers['content-length'], body };
        res.writeHead(201, [['X-Request-Id', 'abc'], ['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2'], ['Content-Type', 'application/json']]);
        res.end('{"ok":"é"}');
      });
    };
    const response = await call();
    expect(response.status).toBe(201);
    expect(response.headers).toMatchObject({ 'x-request-id': 'abc', 'set-cookie': 'a=1, b=2', 'content-type': 'application/json' });
    expect(await response.text()).toBe('{"ok":"é"}');
    expect(seen).toEqual({ method: 'POST', url: '/v1/chat?x=1', contentType: 'application/json', length: String(Buffer.byteLength('{"hello":"wörld"}')), body: '{"hello":"wörld"}' });
  });

  it('streams a body piece by piece, and a slow reader still gets every byte in order', async () => {
    const pieces = Array.from({ length: 64 }, (_, i) => `${String(i).padStart(2, '0')}:${'x'.repeat(8 * 1024)}\n`);
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const piece of pieces) res.write(piece);
      res.end();
    };
    const response = await call();
    const decoder = new TextDecoder();
    let text = '';
    let reads = 0;
    for await (const chunk of response.body) {
      text += decoder.decode(chunk, { stream: true });
      // Slower than the socket: half a megabyte outruns the transport's buffer, which pauses and resumes the socket.
      if (++reads % 4 === 0) await sleep(2);
    }
    expect(text).toBe(pieces.join(''));
  });

  it('gives up when the headers take longer than timeoutMs, and closes the connection', async () => {
    handler = () => undefined;
    const started = performance.now();
    const error = await rejection(call({ timeoutMs: 150 }));
    expect(error.kind).toBe('timeout');
    expect(error.message).toBe('upstream did not answer within 150 ms');
    expect(performance.now() - started).toBeLessThan(2_000);
    await closedByClient[0];
  });

  it('stops when the caller goes away before the answer, and closes the connection', async () => {
    handler = () => undefined;
    const caller = new AbortController();
    const pending = call({ signal: caller.signal });
    await sleep(50);
    caller.abort();
    const error = await rejection(pending);
    expect(error.kind).toBe('aborted');
    await closedByClient[0];
  });

  it('reports an upstream it cannot reach as a connection error', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await rejection(call({ url: `http://127.0.0.1:${port}/v1/chat` }));
    expect(error.kind).toBe('connection');
    expect(error.message).toMatch(/^upstream unreachable: /);
  });

  it('abort() mid-stream ends the read and closes the connection; so does leaving a for-await early', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: first\n\n');
    };
    const aborted = await call();
    const iterator = aborted.body[Symbol.asyncIterator]();
    expect((await iterator.next()).done).toBe(false);
    // A read already waiting for the next piece ends too.
    const waiting = iterator.next();
    aborted.abort();
    await expect(waiting).rejects.toThrow(/^the answer was abandoned$/);
    await expect(iterator.next()).rejects.toThrow(/^the answer was abandoned$/);
    await closedByClient[0];

    const left = await call();
    for await (const chunk of left.body) {
      expect(new TextDecoder().decode(chunk)).toBe('data: first\n\n');
      break;
    }
    await closedByClient[1];
  });

  it('fails the body when the upstream drops the connection before it is complete', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"partial":');
      setTimeout(() => res.destroy(), 20);
    };
    const response = await call();
    await expect(response.text()).rejects.toThrow(/^the upstream connection failed before the body was complete: /);
  });

  it('connects to a pinned address while the request keeps its host name', async () => {
    let host: string | undefined;
    handler = (req, res) => {
      host = req.headers.host;
      req.resume();
      req.on('end', () => res.end('pinned'));
    };
    const port = (server.address() as AddressInfo).port;
    const response = await call({ url: `http://hooks.sluice.invalid:${port}/hook`, address: '127.0.0.1' });
    expect(await response.text()).toBe('pinned');
    expect(host).toBe(`hooks.sluice.invalid:${port}`);
  });

  describe('over TLS', () => {
    const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/tls/${name}`, import.meta.url));
    // A certificate for localhost and 127.0.0.1 that only a process started with NODE_EXTRA_CA_CERTS trusts.
    const secure = https.createServer({ cert: readFileSync(fixture('cert.pem')), key: readFileSync(fixture('key.pem')) }, (req, res) => res.end(`tls ${req.headers.host}`));
    let port: number;

    beforeAll(async () => {
      await new Promise<void>((resolve) => secure.listen(0, '127.0.0.1', resolve));
      port = (secure.address() as AddressInfo).port;
    });

    afterAll(async () => {
      secure.closeAllConnections();
      await new Promise((resolve) => secure.close(resolve));
    });

    it('refuses an upstream whose certificate it cannot verify', async () => {
      const error = await rejection(call({ method: 'GET', url: `https://127.0.0.1:${port}/`, body: undefined }));
      expect(error.kind).toBe('connection');
      expect(error.message).toMatch(/certificate/i);
    });

    it('verifies the name through a pinned address and answers', async () => {
      const run = async (...args: string[]): Promise<unknown> => {
        const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../helpers/https-transport.ts', import.meta.url)), ...args], {
          env: { ...process.env, NODE_EXTRA_CA_CERTS: fixture('cert.pem') },
        });
        return JSON.parse(stdout) as unknown;
      };
      expect(await run(`https://localhost:${port}/`, '127.0.0.1')).toEqual({ status: 200, body: `tls localhost:${port}` });
      // The certificate names localhost and 127.0.0.1, not this name: pinning the address does not skip the check.
      expect(await run(`https://upstream.sluice.invalid:${port}/`, '127.0.0.1')).toEqual({ error: expect.stringMatching(/^upstream unreachable: .*(altnames|certificate)/i) });
    });
  });
});
