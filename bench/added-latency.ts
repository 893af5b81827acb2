// Median added latency of sequential non-streaming requests through Sluice vs straight to the
// simulated upstream. The sim and the gateway (as `npm start` runs it) are separate processes;
// the client alternates direct and gateway requests so both see the same machine state.
//
//   npx tsx bench/added-latency.ts [--n 200] [--model gpt-4o-mini] [--warmup 200]
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, flag } from '../src/cli/args';
import { upstreamEnvFor } from '../src/sim/server';
import { npmStartCommand } from '../test/helpers/start-command';

const args = parseArgs(process.argv.slice(2));
const N = Number(flag(args, 'n') ?? 200);
const WARMUP = Number(flag(args, 'warmup') ?? 200);
const MODEL = flag(args, 'model') ?? 'gpt-4o-mini';
const ADMIN = 'sk-sluice-admin-bench';

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function request(url: string, body: string, headers: Record<string, string>): Promise<{ status: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: Number(process.hrtime.bigint() - started) / 1e6 }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function start(command: string[], env: Record<string, string>, ready: RegExp): Promise<{ child: ChildProcess; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, command, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const onData = (data: Buffer): void => {
      output += data.toString();
      if (ready.test(output)) resolve({ child, output });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${command.join(' ')} exited with ${code}:\n${output}`)));
  });
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  const sim = await start(['--import', 'tsx', 'src/cli.ts', 'sim', '--port', '0'], {}, /http:\/\/127\.0\.0\.1:\d+/);
  const simUrl = /http:\/\/127\.0\.0\.1:\d+/.exec(sim.output)![0];
  // The gateway as `npm start` runs it (bundled, its V8 flags).
  const startCommand = npmStartCommand();
  const gateway = await start(startCommand.args, {
    ...startCommand.env,
    PORT: '0',
    SLUICE_DB_URL: `file:${join(dir, 'bench.db')}`,
    SLUICE_ADMIN_KEY: ADMIN,
    ...upstreamEnvFor(simUrl),
  }, /Sluice listening on http:\/\/127\.0\.0\.1:\d+/);
  const gatewayUrl = /Sluice listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(gateway.output)![1]!;
  try {
    const created = await fetch(`${gatewayUrl}/admin/keys`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: '{"name":"bench","team":"bench"}' });
    const { key } = (await created.json()) as { key: string };
    const body = JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'Reply with a short greeting.' }] });
    const direct = (): Promise<{ status: number; ms: number }> => request(`${simUrl}/v1/chat/completions`, body, { authorization: 'Bearer sk-sim' });
    const viaSluice = (): Promise<{ status: number; ms: number }> => request(`${gatewayUrl}/v1/chat/completions`, body, { authorization: `Bearer ${key}` });
    for (let i = 0; i < WARMUP; i++) {
      await direct();
      await viaSluice();
    }
    const d: number[] = [];
    const s: number[] = [];
    for (let i = 0; i < N; i++) {
      const a = await direct();
      const b = await viaSluice();
      if (a.status !== 200 || b.status !== 200) throw new Error(`bad status ${a.status}/${b.status}`);
      d.push(a.ms);
      s.push(b.ms);
    }
    d.sort((x, y) => x - y);
    s.sort((x, y) => x - y);
    const row = (name: string, v: number[]): string => `| ${name} | ${quantile(v, 0.5).toFixed(3)} | ${quantile(v, 0.9).toFixed(3)} | ${quantile(v, 0.99).toFixed(3)} |`;
    console.log(`${N} sequential non-streaming requests each way (after ${WARMUP} warm-up pairs), model ${MODEL}, Node ${process.version}\n`);
    console.log('| arm | p50 ms | p90 ms | p99 ms |\n| --- | --- | --- | --- |');
    console.log(row('direct to sim', d));
    console.log(row('through Sluice', s));
    console.log(`\nmedian added latency: ${(quantile(s, 0.5) - quantile(d, 0.5)).toFixed(3)} ms`);
  } finally {
    gateway.child.kill('SIGTERM');
    sim.child.kill('SIGTERM');
    agent.destroy();
    await new Promise((resolve) => setTimeout(resolve, 500));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
