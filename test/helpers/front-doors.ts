import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import type { EventView } from '../../src/ledger/events';
import { nusd, type Harness } from './harness';

/** The official Anthropic client pointed at the gateway, with a Sluice key. */
export function anthropicClient(h: Harness, key: string): Anthropic {
  return new Anthropic({ apiKey: key, baseURL: h.url, maxRetries: 0, timeout: 20_000 });
}

/**
 * The official Bedrock runtime client pointed at the gateway with its default request handler
 * (HTTP/2, prior-knowledge h2c on an http:// endpoint) and the Sluice key as a Bedrock API key.
 */
export function bedrockClient(h: Harness, key: string): BedrockRuntimeClient {
  return new BedrockRuntimeClient({
    endpoint: h.url,
    region: 'us-east-1',
    token: { token: key },
    authSchemePreference: ['httpBearerAuth'],
    maxAttempts: 1,
  });
}

interface CatalogPrices {
  input: number;
  output: number;
  cached_input?: number;
  cache_write?: number;
  flex_input?: number;
  flex_output?: number;
}

const pricesByHarness = new WeakMap<Harness, Map<string, CatalogPrices>>();

/** Catalog prices (USD per million tokens) as the gateway's admin API lists them. */
export async function pricesOf(h: Harness, model: string): Promise<CatalogPrices> {
  let prices = pricesByHarness.get(h);
  if (!prices) {
    const catalog = (await (await h.admin('/admin/catalog')).json()) as { models: Array<{ id: string; prices: CatalogPrices }> };
    prices = new Map(catalog.models.map((m) => [m.id, m.prices]));
    pricesByHarness.set(h, prices);
  }
  const found = prices.get(model);
  if (!found) throw new Error(`no catalog prices for ${model}`);
  return found;
}

/** An event's cost by hand: each token class at the catalog's standard price (DESIGN.md's formula). */
export async function handCost(h: Harness, event: EventView): Promise<number> {
  const p = await pricesOf(h, event.served_model ?? '');
  return (
    nusd(event.input_tokens, p.input) +
    nusd(event.cached_input_tokens, p.cached_input ?? p.input) +
    nusd(event.cache_write_tokens, p.cache_write ?? p.input) +
    nusd(event.output_tokens, p.output)
  );
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The upstream's answer bytes, complete once the exchange has ended. */
  response: Buffer[];
}

export interface Recorder {
  url: string;
  /** Where requests are forwarded (set once the sim is up). */
  target: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** A loopback proxy in front of the sim that records what the gateway sent upstream. */
export async function startRecorder(): Promise<Recorder> {
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    const upstream = new URL(recorder.target);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const recorded: RecordedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: body.toString('utf8'), response: [] };
      requests.push(recorded);
      const forward = http.request(
        { hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: { ...req.headers, host: upstream.host } },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.on('data', (chunk: Buffer) => recorded.response.push(chunk));
          answer.pipe(res);
        },
      );
      forward.on('error', () => res.destroy());
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const recorder: Recorder = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    target: '',
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return recorder;
}
