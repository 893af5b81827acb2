// What the Anthropic and Bedrock front doors add per request: the translation work itself (µs per
// operation, in process), and the median added latency of sequential non-streaming requests
// through each front door against the same protocol sent straight to the sim (gateway and sim
// in this one process; bench/added-latency.ts measures the OpenAI door with separate processes).
//
//   npx tsx bench/front-doors.ts [--n 300] [--warmup 200]
import http from 'node:http';
import http2 from 'node:http2';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Catalog, SHIPPED_CATALOG } from '../src/catalog/catalog';
import { flag, parseArgs } from '../src/cli/args';
import { parseConfig } from '../src/config';
import { silentLogger } from '../src/deps';
import { startNodeServer } from '../src/entry/node';
import { ChatRequest } from '../src/gateway/chat';
import { ConverseStreamDecoder, toConverseBody } from '../src/providers/converse';
import { encodeEvent } from '../src/providers/eventstream';
import { SluiceError } from '../src/errors';
import { startSim } from '../src/sim/server';
import { MessagesRequest, toCanonical } from '../src/surfaces/anthropic/request';
import { MessagesEventWriter } from '../src/surfaces/anthropic/response';

const args = parseArgs(process.argv.slice(2));
const N = Number(flag(args, 'n') ?? 300);
const WARMUP = Number(flag(args, 'warmup') ?? 200);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Median µs per call of `fn`, over batches of `batch` calls. */
function micro(name: string, fn: () => unknown, batch = 2000): void {
  for (let i = 0; i < batch; i++) fn();
  const samples: number[] = [];
  for (let round = 0; round < 15; round++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) fn();
    samples.push(Number(process.hrtime.bigint() - started) / 1e3 / batch);
  }
  console.log(`  ${name.padEnd(58)} ${median(samples).toFixed(2).padStart(8)} µs`);
}

function translationCosts(): void {
  const catalog = new Catalog(SHIPPED_CATALOG);
  const messages = MessagesRequest.parse({
    model: 'gpt-4o-mini',
    max_tokens: 500,
    system: [{ type: 'text', text: 'You are a support agent. '.repeat(40), cache_control: { type: 'ephemeral' } }],
    messages: [
      { role: 'user', content: 'My order has not arrived.' },
      { role: 'assistant', content: [{ type: 'text', text: 'Let me check.' }, { type: 'tool_use', id: 't1', name: 'order_status', input: { id: '42' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'shipped' }, { type: 'text', text: 'When will it come?' }] },
    ],
    tools: [{ name: 'order_status', input_schema: { type: 'object', properties: { id: { type: 'string' } } } }],
  });
  const target = {
    request: ChatRequest.parse(toCanonical(messages).request),
    model: catalog.find('nova-lite')!,
    stream: false,
    tier: 'standard' as const,
    timeoutMs: 1000,
    nowMs: 0,
    extras: toCanonical(messages).extras,
  };
  const chunk = { id: 'c', object: 'chat.completion.chunk' as const, created: 0, model: 'm', choices: [{ index: 0, delta: { content: 'word ' }, finish_reason: null }] };
  const writer = new MessagesEventWriter('msg');
  const frame = encodeEvent('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'word ' }, p: 'abcdefgh' });
  const decoder = new ConverseStreamDecoder('c', 'm', 0, (what) => new SluiceError('upstream_error', what));

  console.log('translation work, median per operation:');
  micro('validate a Messages body (zod)', () => MessagesRequest.parse(messages));
  micro('Messages body → canonical request', () => toCanonical(messages));
  micro('canonical request → Converse body', () => toConverseBody(target));
  micro('canonical chunk → Messages SSE events', () => writer.chunk(chunk));
  micro('encode one ConverseStream event frame', () => encodeEvent('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'word ' } }));
  micro('decode one ConverseStream frame → canonical chunk', () => decoder.push(frame));
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function post(url: string, body: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(Number(process.hrtime.bigint() - started) / 1e6) : reject(new Error(`${url}: ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function postH2(session: http2.ClientHttp2Session, path: string, body: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/json', ...headers });
    let status = 0;
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.on('data', () => undefined);
    stream.on('end', () => (status === 200 ? resolve(Number(process.hrtime.bigint() - started) / 1e6) : reject(new Error(`${path}: ${status}`))));
    stream.on('error', reject);
    stream.end(body);
  });
}

async function addedLatency(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  const sim = await startSim();
  const config = parseConfig({
    PORT: '0',
    SLUICE_DB_URL: `file:${join(dir, 'bench.db')}`,
    SLUICE_ADMIN_KEY: 'sk-sluice-admin-bench',
    OPENAI_BASE_URL: `${sim.url}/v1`,
    OPENAI_API_KEY: 'sk-sim',
    ANTHROPIC_BASE_URL: sim.url,
    ANTHROPIC_API_KEY: 'sk-sim',
    BEDROCK_BASE_URL: sim.url,
    AWS_BEARER_TOKEN_BEDROCK: 'ABSK-sim',
  });
  const gateway = await startNodeServer({ config, jobs: false, logger: silentLogger });
  const session = http2.connect(gateway.url);
  try {
    const created = await fetch(`${gateway.url}/admin/keys`, { method: 'POST', headers: { authorization: 'Bearer sk-sluice-admin-bench', 'content-type': 'application/json' }, body: '{"name":"bench"}' });
    const { key } = (await created.json()) as { key: string };
    const messages = (model: string): string => JSON.stringify({ model, max_tokens: 64, messages: [{ role: 'user', content: 'Reply with a short greeting.' }] });
    const converse = JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'Reply with a short greeting.' }] }], inferenceConfig: { maxTokens: 64 } });
    const bearer = { authorization: `Bearer ${key}` };
    const chat = JSON.stringify({ model: 'gpt-4o-mini', max_completion_tokens: 64, messages: [{ role: 'user', content: 'Reply with a short greeting.' }] });
    const cases: Array<{ name: string; direct: () => Promise<number>; gateway: () => Promise<number> }> = [
      {
        name: 'OpenAI door → OpenAI (the reference), HTTP/1.1',
        direct: () => post(`${sim.url}/v1/chat/completions`, chat, { authorization: 'Bearer sk-sim' }),
        gateway: () => post(`${gateway.url}/v1/chat/completions`, chat, bearer),
      },
      {
        name: 'Anthropic door → Anthropic (pass-through), HTTP/1.1',
        direct: () => post(`${sim.url}/v1/messages`, messages('claude-haiku-5-5'), { 'x-api-key': 'sk-sim', 'anthropic-version': '2023-06-01' }),
        gateway: () => post(`${gateway.url}/v1/messages`, messages('claude-haiku-5-5'), bearer),
      },
      {
        name: 'Anthropic door → OpenAI (translated), HTTP/1.1',
        direct: () => post(`${sim.url}/v1/chat/completions`, chat, { authorization: 'Bearer sk-sim' }),
        gateway: () => post(`${gateway.url}/v1/messages`, messages('gpt-4o-mini'), bearer),
      },
      {
        name: 'Bedrock door → Bedrock (pass-through), HTTP/1.1',
        direct: () => post(`${sim.url}/model/amazon.nova-micro-v1%3A0/converse`, converse, { authorization: 'Bearer ABSK-sim' }),
        gateway: () => post(`${gateway.url}/model/amazon.nova-micro-v1%3A0/converse`, converse, bearer),
      },
      {
        // The sim speaks HTTP/1.1 only: the direct side is the same HTTP/1.1 call as above.
        name: 'Bedrock door → Bedrock (pass-through), h2c (the AWS SDK)',
        direct: () => post(`${sim.url}/model/amazon.nova-micro-v1%3A0/converse`, converse, { authorization: 'Bearer ABSK-sim' }),
        gateway: () => postH2(session, '/model/amazon.nova-micro-v1%3A0/converse', converse, bearer),
      },
      {
        name: 'Bedrock door → Anthropic (translated), HTTP/1.1',
        direct: () => post(`${sim.url}/v1/messages`, messages('claude-haiku-5-5'), { 'x-api-key': 'sk-sim', 'anthropic-version': '2023-06-01' }),
        gateway: () => post(`${gateway.url}/model/claude-haiku-5-5/converse`, converse, bearer),
      },
    ];
    console.log(`\nadded latency, sequential non-streaming, median of ${N} (gateway minus direct to the sim):`);
    for (const c of cases) {
      for (let i = 0; i < WARMUP; i++) {
        await c.direct();
        await c.gateway();
      }
      const direct: number[] = [];
      const through: number[] = [];
      for (let i = 0; i < N; i++) {
        direct.push(await c.direct());
        through.push(await c.gateway());
      }
      const added = median(through) - median(direct);
      console.log(`  ${c.name.padEnd(58)} direct ${median(direct).toFixed(3)} ms, via Sluice ${median(through).toFixed(3)} ms, added ${added.toFixed(3)} ms`);
    }
  } finally {
    session.close();
    await gateway.close();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

translationCosts();
await addedLatency();
