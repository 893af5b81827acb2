import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { parseConfig } from '../../src/config';
import { silentLogger, type Clock } from '../../src/deps';
import { startNodeServer, type NodeServer } from '../../src/entry/node';
import type { EventView } from '../../src/ledger/events';
import type { KeyView } from '../../src/keys/keys';
import type { Transport } from '../../src/providers/transport';
import { startSim, type SimOptions, type SimServer } from '../../src/sim/server';

export const ADMIN_KEY = 'sk-sluice-admin-test';

export interface Harness {
  sim: SimServer;
  gateway: NodeServer;
  /** Base URL of the gateway, e.g. http://127.0.0.1:PORT */
  url: string;
  dbUrl: string;
  /** POST /admin/keys; returns the view plus the one-time secret. */
  createKey(input?: Record<string, unknown>): Promise<KeyView & { key: string }>;
  /** Flushes the ledger and returns every event, oldest first. */
  events(): Promise<EventView[]>;
  /** Waits until the ledger holds `count` events (streams record after the response ends). */
  eventsWhen(count: number, timeoutMs?: number): Promise<EventView[]>;
  admin(path: string, init?: RequestInit): Promise<Response>;
  openai(key: string, options?: { maxRetries?: number }): OpenAI;
  /**
   * Stops the gateway (as a deploy or crash would, after in-flight work) and starts a new one on
   * the same database file and sim; `url`, `gateway` and the clients follow the new one.
   */
  restartGateway(options?: { transport?: Transport }): Promise<void>;
  /** Another gateway on the same database and sim: a second instance of a multi-instance deployment. */
  startPeer(): Promise<NodeServer>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  env?: Record<string, string>;
  /** The config file's contents (what SLUICE_CONFIG would hold), parsed with the environment. */
  configFile?: unknown;
  sim?: SimOptions;
  clock?: Clock;
  /** Jitter source for webhook retries. */
  random?: () => number;
  /** Name resolution for the webhook SSRF guard (default: the system resolver). */
  resolveHost?: (hostname: string) => Promise<string[]>;
}

/** A real gateway on loopback, with a real libSQL file, in front of the simulated upstream. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const sim = await startSim(options.sim);
  const dir = mkdtempSync(join(tmpdir(), 'sluice-test-'));
  const dbUrl = `file:${join(dir, 'sluice.db')}`;
  const config = parseConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    SLUICE_DB_URL: dbUrl,
    SLUICE_ADMIN_KEY: ADMIN_KEY,
    OPENAI_BASE_URL: `${sim.url}/v1`,
    OPENAI_API_KEY: 'sk-upstream-openai',
    ANTHROPIC_BASE_URL: sim.url,
    ANTHROPIC_API_KEY: 'sk-upstream-anthropic',
    BEDROCK_BASE_URL: sim.url,
    AWS_ACCESS_KEY_ID: 'AKIDTEST',
    AWS_SECRET_ACCESS_KEY: 'secret-test',
    AWS_REGION: 'us-east-1',
    SLUICE_LEDGER_FLUSH_MS: '20',
    ...options.env,
  }, options.configFile);
  const start = (transport?: Transport): Promise<NodeServer> =>
    startNodeServer({
      config,
      jobs: false,
      logger: silentLogger,
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.random ? { random: options.random } : {}),
      ...(options.resolveHost ? { resolveHost: options.resolveHost } : {}),
      ...(transport ? { transport } : {}),
    });
  let gateway = await start();
  const peers: NodeServer[] = [];

  const admin = (path: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`${gateway.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) },
    });

  const events = async (): Promise<EventView[]> => {
    await gateway.sluice.services.ledger.flush();
    const all: EventView[] = [];
    let cursor: string | null = null;
    do {
      const response: Response = await admin(`/admin/usage/events?limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
      const page = (await response.json()) as { data: EventView[]; next_cursor: string | null };
      all.push(...page.data);
      cursor = page.next_cursor;
    } while (cursor);
    return all.reverse();
  };

  return {
    sim,
    get gateway() {
      return gateway;
    },
    get url() {
      return gateway.url;
    },
    dbUrl,
    async createKey(input = {}) {
      const response = await admin('/admin/keys', { method: 'POST', body: JSON.stringify({ name: 'test', ...input }) });
      if (response.status !== 201) throw new Error(`create key: ${response.status} ${await response.text()}`);
      return (await response.json()) as KeyView & { key: string };
    },
    events,
    async eventsWhen(count, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const list = await events();
        if (list.length >= count || Date.now() > deadline) return list;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    admin,
    openai(key, clientOptions = {}) {
      return new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: clientOptions.maxRetries ?? 0, timeout: 20_000 });
    },
    async restartGateway(restart = {}) {
      await gateway.close();
      gateway = await start(restart.transport);
    },
    async startPeer() {
      const peer = await start();
      peers.push(peer);
      return peer;
    },
    async close() {
      for (const peer of peers) await peer.close();
      await gateway.close();
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Hand pricing: tokens × USD-per-million, in nano-USD (the same formula DESIGN.md states). */
export function nusd(tokens: number, usdPerMillion: number): number {
  return Math.round(tokens * usdPerMillion * 1000);
}
