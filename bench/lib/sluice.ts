// The simulated upstream and Sluice, each as its own process, as `npm run sim` and `npm start` run them.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createClient } from '@libsql/client';
import { upstreamEnvFor } from '../../src/sim/server';
import { npmStartCommand } from '../../test/helpers/start-command';
import { startNode, type Child } from './proc';

export interface RunningSim {
  child: Child;
  url: string;
}

/** `sluice sim` on a free loopback port, with the given extra flags (latency, pacing). */
export async function startSim(flags: string[] = []): Promise<RunningSim> {
  const { child, match } = await startNode('sim', ['--import', 'tsx', 'src/cli.ts', 'sim', '--port', '0', ...flags], {
    ready: /listening on (http:\/\/127\.0\.0\.1:\d+)/,
  });
  return { child, url: match![1]! };
}

export interface RunningSluice {
  child: Child;
  url: string;
  dbPath: string;
  adminKey: string;
}

/**
 * Sluice as `npm start` runs it (the node arguments of its `start` script, in the checkout
 * measured), with a fresh libSQL file and every upstream aimed at the sim. Nothing is switched
 * off: metering, the ledger writes, routing and the response cache run as in production.
 */
export async function startSluice(
  sim: RunningSim,
  dir: string,
  options: { env?: Record<string, string>; nodeArgs?: string[]; checkout?: string; name?: string } = {},
): Promise<RunningSluice> {
  const dbPath = join(dir, `sluice-${randomBytes(6).toString('hex')}.db`);
  const adminKey = `sk-admin-bench-${randomBytes(12).toString('hex')}`;
  const start = npmStartCommand(options.checkout);
  const { child, match } = await startNode(options.name ?? 'sluice', [...(options.nodeArgs ?? []), ...start.args], {
    ready: /Sluice listening on (http:\/\/127\.0\.0\.1:\d+)/,
    ...(options.checkout ? { cwd: options.checkout } : {}),
    env: {
      ...start.env,
      PORT: '0',
      HOST: '127.0.0.1',
      SLUICE_DB_URL: `file:${dbPath}`,
      SLUICE_ADMIN_KEY: adminKey,
      ...upstreamEnvFor(sim.url),
      SLUICE_CONFIG: undefined,
      SLUICE_DB_AUTH_TOKEN: undefined,
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      AWS_SESSION_TOKEN: undefined,
      ...options.env,
    },
  });
  return { child, url: match![1]!, dbPath, adminKey };
}

/**
 * Another revision of Sluice to measure beside this one (before/after in the same run): the
 * files of `ref` exported with `git archive` into the temp folder (outside the project, so the
 * type checker and test runner never see it; no worktree is registered), using this checkout's
 * node_modules.
 */
export function exportRevision(ref: string): { dir: string; label: string } {
  const sha = execFileSync('git', ['rev-parse', '--short', ref], { encoding: 'utf8' }).trim();
  const dir = join(tmpdir(), `sluice-bench-rev-${sha}`);
  if (!existsSync(join(dir, 'package.json'))) {
    mkdirSync(dir, { recursive: true });
    execFileSync('sh', ['-c', `git archive ${sha} | tar -x -C "${dir}"`]);
    symlinkSync(resolve('node_modules'), join(dir, 'node_modules'));
  }
  return { dir, label: `sluice@${sha}` };
}

/** A Sluice key for the benchmark client (POST /admin/keys). */
export async function createKey(sluice: RunningSluice): Promise<string> {
  const response = await fetch(`${sluice.url}/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${sluice.adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench', team: 'bench' }),
  });
  if (response.status !== 201) throw new Error(`POST /admin/keys answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { key: string }).key;
}

/** The upstream id of a catalog model (what the direct and peer arms ask the sim for). */
export async function upstreamIdOf(sluice: RunningSluice, model: string): Promise<string> {
  const response = await fetch(`${sluice.url}/admin/catalog`, { headers: { authorization: `Bearer ${sluice.adminKey}` } });
  const catalog = (await response.json()) as { models: Array<{ id: string; upstream_id: string }> };
  const found = catalog.models.find((m) => m.id === model);
  if (!found) throw new Error(`model ${model} is not in the catalog`);
  return found.upstream_id;
}

/** The sum of a Prometheus counter over its label sets, from GET /metrics. */
export async function counterTotal(sluice: RunningSluice, name: string): Promise<number> {
  const text = await (await fetch(`${sluice.url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** Ledger rows in a stopped Sluice's database, by status. */
export async function ledgerRows(dbPath: string): Promise<Record<string, number>> {
  const client = createClient({ url: `file:${dbPath}` });
  try {
    const result = await client.execute('SELECT status, count(*) AS n FROM usage_events GROUP BY status');
    const rows: Record<string, number> = {};
    for (const row of result.rows) rows[String(row.status)] = Number(row.n);
    return rows;
  } finally {
    client.close();
  }
}
