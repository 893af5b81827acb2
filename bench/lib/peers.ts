// The peer gateway arms (Portkey's open-source gateway, and the Hono and node:http proxy floors),
// set up the way the team's harness does it: ../shared/bench/peer-portkey.sh installs the pinned
// packages (INSTALL_ONLY=1), and its generated proxy sources and loopback-only preload are taken
// from the script itself, so both harnesses measure the same programs.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join, resolve } from 'node:path';
import { startNode, type Child } from './proc';

export const PEER_ARMS = ['portkey', 'hono-min', 'node-min'] as const;
export type PeerArm = (typeof PEER_ARMS)[number];

const GENERATED = ['loopback-only.cjs', 'hono-min.mjs', 'node-min.mjs'] as const;

export interface PeerInstall {
  work: string;
  versions: Record<string, string>;
}

/** Installs the peers into `work` (reused when present) and writes the generated sources there. */
export function installPeers(script: string, work: string): PeerInstall {
  const path = resolve(script);
  if (!existsSync(path)) throw new Error(`the peer harness ${path} is missing (set --peer-script)`);
  mkdirSync(work, { recursive: true });
  execFileSync('bash', [path], { env: { ...process.env, WORK: resolve(work), INSTALL_ONLY: '1' }, stdio: ['ignore', 'inherit', 'inherit'], timeout: 15 * 60_000 });
  const text = readFileSync(path, 'utf8');
  for (const name of GENERATED) {
    const match = new RegExp(`cat > "\\$WORK/${name.replace('.', '\\.')}" <<'EOF'\\n([\\s\\S]*?)\\nEOF\\n`).exec(text);
    if (!match) throw new Error(`${path} no longer generates ${name}; update bench/lib/peers.ts`);
    writeFileSync(join(work, name), `${match[1]}\n`);
  }
  const version = (pkg: string): string => (JSON.parse(readFileSync(join(work, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
  const honoNode = existsSync(join(work, 'node_modules/@portkey-ai/gateway/node_modules/@hono/node-server'))
    ? '@portkey-ai/gateway/node_modules/@hono/node-server'
    : '@hono/node-server';
  return { work: resolve(work), versions: { portkey: version('@portkey-ai/gateway'), hono: version('hono'), '@hono/node-server': version(honoNode) } };
}

export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = net.createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => done(port));
    });
  });
}

async function waitForHttp(url: string, child: Child, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.process.exitCode !== null) throw new Error(`${child.name} exited during start-up:\n${child.output().slice(-2000)}`);
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(1000) })).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${child.name} did not answer ${url} within ${timeoutMs} ms:\n${child.output().slice(-2000)}`);
}

export interface RunningPeer {
  arm: PeerArm;
  child: Child;
  url: string;
  /** Extra request headers the arm needs (Portkey's provider routing). */
  headers: Record<string, string>;
}

/** Starts one peer arm in front of the OpenAI-compatible upstream at `upstreamV1` (…/v1). */
export async function startPeer(arm: PeerArm, install: PeerInstall, upstreamV1: string): Promise<RunningPeer> {
  const port = await freePort();
  const { work } = install;
  if (arm === 'portkey') {
    // Portkey binds every interface and has no host option: the preload pins it to loopback.
    const { child } = await startNode(
      'portkey',
      ['-r', join(work, 'loopback-only.cjs'), join(work, 'node_modules/@portkey-ai/gateway/build/start-server.js'), `--port=${port}`, '--headless'],
      { cwd: work },
    );
    await waitForHttp(`http://127.0.0.1:${port}/`, child);
    return {
      arm,
      child,
      url: `http://127.0.0.1:${port}/v1/chat/completions`,
      headers: { 'x-portkey-provider': 'openai', 'x-portkey-custom-host': upstreamV1 },
    };
  }
  const { child } = await startNode(arm, [join(work, `${arm}.mjs`)], { cwd: work, env: { PORT: String(port), UPSTREAM: upstreamV1 } });
  await waitForHttp(`http://127.0.0.1:${port}/health`, child);
  return { arm, child, url: `http://127.0.0.1:${port}/v1/chat/completions`, headers: {} };
}
