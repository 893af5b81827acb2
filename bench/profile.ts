// Where Sluice's CPU goes on the request path: Sluice runs under `node --cpu-prof` in front of
// the instant sim, autocannon drives it, and the .cpuprofile is summarised by self time (per
// function), by inclusive time, and by the call chains that lead to the heaviest functions.
//
//   node --import tsx bench/profile.ts [--mode json|sse] [--connections 32] [--duration 15]
//                                      [--top 40] [--profile FILE (analyse an existing one)]
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { flag, parseArgs } from '../src/cli/args';
import { runLoad } from './lib/load';
import { stopAll } from './lib/proc';
import { createKey, startSim, startSluice } from './lib/sluice';

const args = parseArgs(process.argv.slice(2));
const MODE = flag(args, 'mode') ?? 'json';
const CONNECTIONS = Number(flag(args, 'connections') ?? 32);
const DURATION = Number(flag(args, 'duration') ?? 15);
const TOP = Number(flag(args, 'top') ?? 40);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
}

function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url ? relative(process.cwd(), url.replace(/^file:\/\//, '')).replace(/^node_modules\//, '~/') : '';
  return `${functionName || '(anonymous)'} ${file ? `${file}:${lineNumber + 1}` : ''}`.trim();
}

function analyse(path: string): void {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const total = profile.samples.length;
  const usPerSample = (profile.endTime - profile.startTime) / total;
  const idle = profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').reduce((a, n) => a + n.hitCount, 0);
  const busy = total - idle;

  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  /** Each sample charged to the nearest project function on its stack (library and Node work included). */
  const charged = new Map<string, number>();
  const chains = new Map<string, Map<string, number>>();
  for (const node of profile.nodes) {
    if (!node.hitCount || node.callFrame.functionName === '(idle)') continue;
    const name = frameName(node);
    self.set(name, (self.get(name) ?? 0) + node.hitCount);
    // Inclusive: each distinct function on the stack once per sample.
    const seen = new Set<string>();
    const chain: string[] = [];
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const frame = frameName(byId.get(id)!);
      if (frame === '(root)') break;
      if (!seen.has(frame)) {
        seen.add(frame);
        inclusive.set(frame, (inclusive.get(frame) ?? 0) + node.hitCount);
      }
      if (chain.length < 8) chain.push(frame);
    }
    let owner = '(outside the project: Node, libraries, event loop)';
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)!;
      // The project's own code: its sources under tsx, or npm start's bundle of them.
      const { url } = frame.callFrame;
      if ((/\/(src|routes|scoring)\//.test(url) && !url.includes('node_modules')) || url.includes('node_modules/.cache/sluice/')) {
        owner = frameName(frame);
        break;
      }
    }
    charged.set(owner, (charged.get(owner) ?? 0) + node.hitCount);
    const key = chain.slice(1).join('  <  ');
    const perFunction = chains.get(name) ?? new Map<string, number>();
    perFunction.set(key, (perFunction.get(key) ?? 0) + node.hitCount);
    chains.set(name, perFunction);
  }
  const pct = (hits: number): string => `${((100 * hits) / busy).toFixed(1).padStart(5)}%`;
  const ms = (hits: number): string => `${((hits * usPerSample) / 1000).toFixed(0).padStart(6)} ms`;
  console.log(`profile ${path}: ${total} samples, ${((busy * usPerSample) / 1000).toFixed(0)} ms busy (percentages of busy time)\n`);
  console.log('## self time');
  const topSelf = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, TOP);
  for (const [name, hits] of topSelf) console.log(`${pct(hits)} ${ms(hits)}  ${name}`);
  console.log('\n## inclusive time');
  for (const [name, hits] of [...inclusive.entries()].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`${pct(hits)} ${ms(hits)}  ${name}`);
  console.log('\n## charged to the nearest project function (its own work plus the Node and library work it calls)');
  for (const [name, hits] of [...charged.entries()].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`${pct(hits)} ${ms(hits)}  ${name}`);
  console.log('\n## call chains of the heaviest functions (callers, nearest first)');
  for (const [name] of topSelf.slice(0, 15)) {
    console.log(`\n${name}`);
    for (const [chain, hits] of [...(chains.get(name) ?? new Map<string, number>()).entries()].sort((a, b) => b[1] - a[1]).slice(0, 4)) console.log(`  ${pct(hits)}  < ${chain}`);
  }
}

async function main(): Promise<void> {
  const existing = flag(args, 'profile');
  if (existing) return analyse(existing);
  const dir = mkdtempSync(join(tmpdir(), 'sluice-profile-'));
  const sim = await startSim();
  const sluice = await startSluice(sim, dir, { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', '100'] });
  try {
    const key = await createKey(sluice);
    const body = JSON.stringify({
      model: 'auto:gpt',
      messages: [
        { role: 'system', content: 'You are a concise assistant.' },
        { role: 'user', content: 'Classify this support ticket and propose a next step: CSV exports duplicate rows across month boundaries. '.repeat(8) },
      ],
      max_tokens: 64,
      temperature: 0.2,
      ...(MODE === 'sse' ? { stream: true, stream_options: { include_usage: true } } : {}),
    });
    const target = { url: `${sluice.url}/v1/chat/completions`, headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body };
    await runLoad(target, CONNECTIONS, 5);
    const result = await runLoad(target, CONNECTIONS, DURATION, sluice.child.pid);
    console.log(`${MODE} c=${CONNECTIONS}: ${result.rps.toFixed(0)} req/s, CPU ${result.cpuMsPerReq?.toFixed(3)} ms/req (profiler on), ${result.bad} bad\n`);
  } finally {
    await sluice.child.stop(60_000);
    await sim.child.stop();
    await stopAll();
  }
  // The main thread's profile (tsx's module hooks run on a second thread with its own).
  const file = readdirSync(dir).find((f) => f.endsWith('.0.001.cpuprofile')) ?? readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile was written in ${dir}`);
  analyse(join(dir, file));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
