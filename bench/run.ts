// `npm run bench`: Sluice side by side with calling the upstream directly (and, with --peers,
// Portkey's gateway and the Hono / node:http proxy floors), in one run on one machine, arms
// interleaved, every number client-observed. Writes bench/RESULTS.md.
//
//   npm run bench                     full: 3 reps x 10 s (+5 s warm-up), instant and 20 ms upstream
//   npm run bench -- --quick          iteration: 1 rep x 3 s, instant upstream only
//   npm run bench -- --peers          add portkey, hono-min, node-min (needs the npm registry once;
//                                     BENCH_PEERS=1 does the same)
// Other flags: --reps N --duration S --warmup S --connections 1,32,128 --upstream-ms 0,20
//   --modes json,sse --probe-n N --paced-rate R --streams N --only gateway,streams,ledger,scorer,reports
//   --report-events 1000000,10000000 --out FILE --peer-work DIR
//   --peer-script PATH (default: shared/bench/peer-portkey.sh in the nearest parent folder that has it)
//   --compare REF     also measure the Sluice of git revision REF (an arm "sluice@<sha>"), e.g. main
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { flag, parseArgs } from '../src/cli/args';
import { runLoad } from './lib/load';
import { installPeers, PEER_ARMS, startPeer, type PeerInstall, type RunningPeer } from './lib/peers';
import { probe, send, type Target } from './lib/probe';
import { assertAlive, cpuMs, keepCoresBusy, preemptions, rssMb, sleep, stopAll, type Child } from './lib/proc';
import { renderResults } from './lib/report';
import type { ArmInfo, LedgerCheck, Mode, RunRecord, StreamMemory } from './lib/rows';
import { counterTotal, createKey, exportRevision, ledgerRows, startSim, startSluice, upstreamIdOf, type RunningSim, type RunningSluice } from './lib/sluice';
import { quantile } from './lib/stats';

const args = parseArgs(process.argv.slice(2), ['quick', 'peers', 'help']);
if (args.flags.has('help')) {
  console.log(readFileSync(new URL(import.meta.url), 'utf8').split('\nimport ')[0]);
  process.exit(0);
}
const quick = args.flags.has('quick');
const numberFlag = (name: string, full: number, short: number): number => {
  const value = Number(flag(args, name) ?? (quick ? short : full));
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a non-negative number`);
  return value;
};
const listFlag = <T extends string | number>(name: string, full: T[], short: T[], parse: (s: string) => T): T[] => {
  const raw = flag(args, name);
  return raw === undefined ? (quick ? short : full) : raw.split(',').map((s) => parse(s.trim()));
};

const settings = {
  reps: numberFlag('reps', 3, 1),
  durationS: numberFlag('duration', 10, 3),
  warmupS: numberFlag('warmup', 5, 2),
  connections: listFlag('connections', [1, 32, 128], [1, 32, 128], Number),
  upstreamMs: listFlag('upstream-ms', [0, 20], [0], Number),
  modes: listFlag<Mode>('modes', ['json', 'sse'], ['json', 'sse'], (s) => s as Mode),
  probeN: numberFlag('probe-n', 1000, 300),
  pacedConcurrency: 32,
  pacedRate: numberFlag('paced-rate', 250, 250),
  streams: numberFlag('streams', 1000, 1000),
  ledgerSeconds: numberFlag('ledger-seconds', 10, 3),
  reportEvents: listFlag('report-events', [1_000_000, 10_000_000], [], Number),
  only: listFlag('only', ['gateway', 'streams', 'ledger', 'scorer', 'reports'], ['gateway', 'streams', 'ledger', 'scorer', 'reports'], String),
  peers: args.flags.has('peers') || process.env.BENCH_PEERS === '1',
  /** Another revision measured beside this checkout (before/after in one run). */
  compare: flag(args, 'compare'),
  peerScript: flag(args, 'peer-script') ?? findUp('shared/bench/peer-portkey.sh'),
  peerWork: flag(args, 'peer-work') ?? 'bench/out/peers',
  out: flag(args, 'out') ?? 'bench/RESULTS.md',
};
for (const mode of settings.modes) if (mode !== 'json' && mode !== 'sse') throw new Error(`--modes takes json and sse, not ${mode}`);

/** `../shared/...` from the main checkout, `../../shared/...` from a worktree under wt/. */
function findUp(path: string): string {
  for (let dir = resolve('..'); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, path))) return join(dir, path);
  }
  return join('..', path);
}

/**
 * The probes of each repetition: back to back on one connection, then paced over many connections
 * with the cores left to idle between requests, and paced again with them kept busy (see
 * keepCoresBusy).
 */
const PROBES = [
  { paced: false, coresBusy: false },
  { paced: true, coresBusy: false },
  { paced: true, coresBusy: true },
] as const;

/** The model the Sluice arm asks for: a routed request (`auto:<family>`), so routing runs. */
const SLUICE_MODEL = 'auto:gpt';

/** A ~1 KB chat request: a system prompt and a support ticket to classify. */
function requestBody(model: string, mode: Mode, maxTokens = 64): string {
  const ticket = (
    'Classify the following support ticket, summarise it in one sentence and propose a next step. ' +
    'The customer reports that invoices exported as CSV since the last release contain duplicated rows when the date range spans a month boundary; '
  )
    .repeat(4)
    .slice(0, 900);
  const body: Record<string, unknown> = {
    model,
    messages: [
      { role: 'system', content: 'You are a concise assistant.' },
      { role: 'user', content: ticket },
    ],
    max_tokens: maxTokens,
    temperature: 0.2,
  };
  if (mode === 'sse') Object.assign(body, { stream: true, stream_options: { include_usage: true } });
  return JSON.stringify(body);
}

interface Arm {
  name: string;
  targets: Record<Mode, Target>;
  /** The gateway process measured for CPU and RSS (none for direct). */
  child: Child | undefined;
  /** Sluice arms: the instance, and the 2xx answers its clients received (for the ledger check). */
  sluice?: { instance: RunningSluice; answered: number };
}

function targets(url: string, headers: Record<string, string>, model: string): Record<Mode, Target> {
  return { json: { url, headers, body: requestBody(model, 'json') }, sse: { url, headers, body: requestBody(model, 'sse') } };
}

/** A Sluice arm: this checkout, or (with --compare) another revision. */
async function sluiceArm(name: string, sim: RunningSim, dir: string, checkout?: string): Promise<Arm> {
  const instance = await startSluice(sim, dir, { name, ...(checkout ? { checkout } : {}) });
  const key = await createKey(instance);
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}` };
  return { name, child: instance.child, targets: targets(`${instance.url}/v1/chat/completions`, headers, SLUICE_MODEL), sluice: { instance, answered: 0 } };
}

/** Counts 2xx answers a Sluice arm's clients received. */
function answered(arm: Arm, count: number): void {
  if (arm.sluice) arm.sluice.answered += count;
}

const record: RunRecord = {
  startedAt: new Date().toISOString(),
  command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
  machine: {
    cores: Number(execFileSync('nproc', { encoding: 'utf8' }).trim()),
    cpu: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    load: loadavg().map((l) => l.toFixed(2)).join(' '),
  },
  settings,
  sluice: { commit: gitDescribe(), requestModel: SLUICE_MODEL, servedModel: '', upstreamModel: '', cacheHeader: '' },
  peerVersions: null,
  rows: [],
  arms: [],
  ledger: [],
  streamMemory: null,
  side: {},
  notes: [],
};

function gitDescribe(): string {
  try {
    const commit = execFileSync('git', ['log', '-1', '--format=%h %s'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim();
    return dirty ? `${commit} (with uncommitted changes)` : commit;
  } catch {
    return 'not a git checkout';
  }
}

function log(message: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** Checks an arm answers 200 with usage in both modes before it is measured. */
async function sanity(arm: Arm): Promise<void> {
  const agent = new http.Agent({ keepAlive: false });
  for (const mode of settings.modes) {
    const answer = await send(agent, arm.targets[mode], true);
    if (answer.status !== 200 || !answer.body.includes('"total_tokens"')) {
      throw new Error(`sanity check failed for ${arm.name}/${mode}: HTTP ${answer.status} ${answer.body.slice(0, 400)}`);
    }
  }
}

/** One upstream setting: the sim, Sluice and the peers started fresh, every arm measured, the ledger checked. */
async function gatewayMatrix(upstreamMs: number, dir: string, peers: PeerInstall | undefined): Promise<void> {
  log(`upstream ${upstreamMs} ms: starting the sim and Sluice`);
  const sim = await startSim(upstreamMs ? ['--latency-ms', String(upstreamMs)] : []);
  const sluice = await sluiceArm('sluice', sim, dir);
  const instance = sluice.sluice!.instance;

  // Which model does the routed request land on? The direct and peer arms ask the sim for it.
  const agent = new http.Agent();
  const first = await send(agent, sluice.targets.json, true);
  if (first.status !== 200) throw new Error(`Sluice answered ${first.status}: ${first.body.slice(0, 400)}`);
  const servedModel = String(first.headers['x-sluice-model']);
  const upstreamModel = await upstreamIdOf(instance, servedModel);
  const again = await send(agent, sluice.targets.json, true);
  agent.destroy();
  answered(sluice, 2);
  Object.assign(record.sluice, { servedModel, upstreamModel, cacheHeader: String(again.headers['x-sluice-cache']) });

  const directHeaders = { 'content-type': 'application/json', authorization: 'Bearer sk-sim' };
  const arms: Arm[] = [{ name: 'direct', child: undefined, targets: targets(`${sim.url}/v1/chat/completions`, directHeaders, upstreamModel) }, sluice];
  if (settings.compare) {
    const revision = exportRevision(settings.compare);
    log(`starting ${revision.label} from ${revision.dir}`);
    arms.push(await sluiceArm(revision.label, sim, dir, revision.dir));
  }
  const running: RunningPeer[] = [];
  if (peers) {
    for (const name of PEER_ARMS) {
      log(`starting ${name}`);
      const peer = await startPeer(name, peers, `${sim.url}/v1`);
      running.push(peer);
      arms.push({ name, child: peer.child, targets: targets(peer.url, { ...directHeaders, ...peer.headers }, upstreamModel) });
    }
  }
  for (const arm of arms) {
    await sanity(arm);
    answered(arm, settings.modes.length);
  }
  const info = new Map<string, ArmInfo>();
  for (const arm of arms) info.set(arm.name, { upstreamMs, arm: arm.name, rssIdleMb: arm.child ? rssMb(arm.child.pid) : null, rssEndMb: null });
  const alive = (): void => assertAlive(sim.child, ...arms.map((a) => a.child));

  for (const mode of settings.modes) {
    for (const arm of arms) {
      log(`warm-up ${mode} ${arm.name} ${settings.warmupS}s`);
      const warm = await runLoad(arm.targets[mode], 32, settings.warmupS);
      answered(arm, warm.total - warm.bad);
    }
    for (let rep = 1; rep <= settings.reps; rep++) {
      const base = { upstreamMs, mode, rep };
      for (const { paced, coresBusy } of PROBES) {
        const busy = coresBusy ? await keepCoresBusy(cpus().length) : undefined;
        for (const arm of arms) {
          const concurrency = paced ? settings.pacedConcurrency : 1;
          const ratePerS = paced ? settings.pacedRate : undefined;
          const pid = arm.child?.pid;
          const before = pid ? { pid, cpu: cpuMs(pid), preempted: preemptions(pid) } : undefined;
          const result = await probe(arm.targets[mode], { n: settings.probeN, warmup: 100, maxMs: 20_000, concurrency, ...(ratePerS ? { ratePerS } : {}) });
          const served = result.warmed + result.n;
          answered(arm, served - result.bad);
          const row = {
            ...base,
            kind: 'probe' as const,
            arm: arm.name,
            concurrency,
            ratePerS: ratePerS ?? null,
            coresBusy,
            n: result.n,
            bad: result.bad,
            p50: quantile(result.latencyUs, 0.5),
            p90: quantile(result.latencyUs, 0.9),
            p99: quantile(result.latencyUs, 0.99),
            ttfbP50: quantile(result.ttfbUs, 0.5),
            ttfbP99: quantile(result.ttfbUs, 0.99),
            cpuMsPerReq: before ? (cpuMs(before.pid) - before.cpu) / served : null,
            preemptedPerReq: before ? (preemptions(before.pid) - before.preempted) / served : null,
          };
          record.rows.push(row);
          log(`probe ${mode} c=${concurrency}${paced ? ` @${ratePerS}/s` : ''}${coresBusy ? ' cores busy' : ''} ${arm.name} rep ${rep}: p50 ${row.p50.toFixed(0)} µs, p99 ${row.p99.toFixed(0)} µs, TTFB p50 ${row.ttfbP50.toFixed(0)} µs${row.cpuMsPerReq == null ? '' : `, CPU ${row.cpuMsPerReq.toFixed(3)} ms/req, preempted ${row.preemptedPerReq?.toFixed(2)}/req`}${row.bad ? `, ${row.bad} bad` : ''}`);
        }
        await busy?.stop();
        alive();
      }
      for (const connections of settings.connections) {
        for (const arm of arms) {
          const result = await runLoad(arm.targets[mode], connections, settings.durationS, arm.child?.pid);
          alive();
          answered(arm, result.total - result.bad);
          record.rows.push({ ...base, kind: 'load', arm: arm.name, ...result });
          log(
            `load ${mode} c=${connections} ${arm.name} rep ${rep}: ${result.rps.toFixed(0)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms` +
              `${result.cpuMsPerReq == null ? '' : `, CPU ${result.cpuMsPerReq.toFixed(3)} ms/req, RSS ${result.rssPeakMb?.toFixed(0)} MB`}${result.bad ? `, ${result.bad} bad` : ''}`,
          );
        }
      }
    }
  }
  for (const arm of arms) if (arm.child) info.get(arm.name)!.rssEndMb = rssMb(arm.child.pid);
  record.arms.push(...info.values());
  for (const arm of arms) if (arm.sluice) record.ledger.push(await checkLedger(arm.name, upstreamMs, arm.sluice.instance, arm.sluice.answered));
  for (const peer of running) await peer.child.stop();
  await sim.child.stop();
}

/** Stops Sluice cleanly and compares what it metered with what its database holds. */
async function checkLedger(arm: string, upstreamMs: LedgerCheck['upstreamMs'], sluice: RunningSluice, clientOk: number): Promise<LedgerCheck> {
  await sleep(500);
  const metered = await counterTotal(sluice, 'sluice_requests_total');
  const code = await sluice.child.stop(60_000);
  if (code !== 0) record.notes.push(`${arm} exited with code ${code} at the end of the ${upstreamMs} run.`);
  const rows = await ledgerRows(sluice.dbPath);
  const written = Object.values(rows).reduce((a, b) => a + b, 0);
  log(`ledger ${arm} (${upstreamMs}): ${clientOk} answers received, ${metered} metered, ${written} rows ${JSON.stringify(rows)}`);
  return { arm, upstreamMs, clientOk, metered, rows };
}

/**
 * Memory per in-flight stream: slow sim streams (a chunk a second) held open through Sluice;
 * the growth of Sluice's RSS with them all open, per stream. The callers then hang up, which
 * the ledger must record as aborted events.
 */
async function streamMemory(dir: string): Promise<void> {
  log(`streams: ${settings.streams} in-flight streams`);
  const sim = await startSim(['--per-token-ms', '1000']);
  const sluice = await startSluice(sim, dir);
  const key = await createKey(sluice);
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}` };
  const target = (maxTokens: number): Target => ({ url: `${sluice.url}/v1/chat/completions`, headers, body: requestBody(SLUICE_MODEL, 'sse', maxTokens) });
  // Warm up the stream path with a few short streams: enough for the code to be compiled, few
  // enough that the heap is not grown ahead of the measurement (its growth is part of the cost).
  const warmAgent = new http.Agent({ keepAlive: true });
  let clientOk = 0;
  for (let round = 0; round < 3; round++) {
    const answers = await Promise.all(Array.from({ length: 10 }, () => send(warmAgent, target(1))));
    clientOk += answers.filter((a) => a.status === 200).length;
  }
  warmAgent.destroy();
  await sleep(2000);
  const rssBeforeMb = rssMb(sluice.child.pid);

  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const requests: http.ClientRequest[] = [];
  const url = new URL(target(1000).url);
  const body = target(1000).body;
  const firstBytes = await Promise.allSettled(
    Array.from(
      { length: settings.streams },
      () =>
        new Promise<void>((resolve, reject) => {
          const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
            if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
            res.once('data', () => resolve());
            res.on('error', () => undefined);
          });
          req.on('error', reject);
          req.setTimeout(60_000, () => reject(new Error('no first byte within 60 s')));
          requests.push(req);
          req.end(body);
        }),
    ),
  );
  const opened = firstBytes.filter((r) => r.status === 'fulfilled').length;
  await sleep(2000);
  const rssOpenMb = rssMb(sluice.child.pid);
  for (const req of requests) req.destroy();
  agent.destroy();
  const result: StreamMemory = {
    streams: settings.streams,
    opened,
    rssBeforeMb,
    rssOpenMb,
    kbPerStream: ((rssOpenMb - rssBeforeMb) * 1024) / Math.max(1, opened),
    mbPer1000: ((rssOpenMb - rssBeforeMb) * 1000) / Math.max(1, opened),
  };
  record.streamMemory = result;
  log(`streams: ${opened}/${settings.streams} open; RSS ${rssBeforeMb.toFixed(1)} → ${rssOpenMb.toFixed(1)} MB (${result.mbPer1000.toFixed(1)} MB per 1,000)`);
  await sleep(2000);
  record.ledger.push(await checkLedger('sluice', 'streams', sluice, clientOk));
  await sim.child.stop();
}

/** Keys (in teams and projects, with tags, on 8 models) of the ledger run that stands for a shared gateway. */
const LEDGER_PRINCIPALS = 200;

/**
 * Runs a side benchmark (`node --import tsx bench/<file> ...`) and keeps what it printed: the
 * JSON object it ends with, or (markdown) its whole report.
 */
function side(name: string, file: string, extra: string[], format: 'json' | 'markdown' = 'json'): void {
  if (!existsSync(file)) {
    record.notes.push(`${name}: ${file} is not in this checkout; skipped.`);
    return;
  }
  log(`${name}: node --import tsx ${file} ${extra.join(' ')}`);
  const output = execFileSync(process.execPath, ['--import', 'tsx', file, ...extra], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 1024 * 1024 });
  record.side[name] = format === 'markdown' ? output.trim() : JSON.parse(output.slice(output.search(/^\{/m)));
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  mkdirSync('bench/out', { recursive: true });
  try {
    let peers: PeerInstall | undefined;
    if (settings.peers && settings.only.includes('gateway')) {
      log(`installing the peer arms with ${settings.peerScript} (INSTALL_ONLY=1) into ${settings.peerWork}`);
      peers = installPeers(settings.peerScript, settings.peerWork);
      record.peerVersions = peers.versions;
    }
    if (settings.only.includes('gateway')) for (const upstreamMs of settings.upstreamMs) await gatewayMatrix(upstreamMs, dir, peers);
    if (settings.only.includes('streams')) await streamMemory(dir);
    if (settings.only.includes('ledger')) {
      // One principal is the writer's cheapest case; a shared gateway's many principals add rollup rows of their own.
      side('ledger', 'bench/ledger.ts', ['--seconds', String(settings.ledgerSeconds)]);
      side('ledger-principals', 'bench/ledger.ts', ['--seconds', String(settings.ledgerSeconds), '--principals', String(LEDGER_PRINCIPALS)]);
    }
    if (settings.only.includes('scorer')) side('scorer', 'bench/scorer.ts', [], 'markdown');
    if (settings.only.includes('reports')) {
      if (existsSync('bench/reports.ts')) {
        for (const events of settings.reportEvents) side(`reports-${events}`, 'bench/reports.ts', ['--events', String(events), '--db', `bench/out/reports-${events}.db`, '--reuse']);
      } else {
        record.notes.push('Report latency on 1M/10M seeded events: bench/reports.ts (issue 6) is not in this checkout yet; `npm run bench` runs it when it is.');
      }
    }
  } finally {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
  const stamp = record.startedAt.replace(/[:.]/g, '-');
  writeFileSync(`bench/out/bench-${stamp}.json`, JSON.stringify(record, null, 2));
  writeFileSync(settings.out, renderResults(record));
  log(`wrote ${settings.out} (raw rows: bench/out/bench-${stamp}.json)`);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void stopAll().then(() => process.exit(130));
  });
}
main().catch(async (error: unknown) => {
  console.error(error);
  await stopAll();
  process.exit(1);
});
