/**
 * Runs the three official clients against a gateway served over TLS, in a process started with
 * NODE_EXTRA_CA_CERTS (the only way to make the AWS SDK's default HTTP/2 handler trust a test
 * certificate). Creates its key with the admin API and prints one JSON line: what each client
 * got back, and the surfaces of the ledger rows left behind.
 * Usage: node --import tsx test/helpers/tls-clients.ts <gateway url> <admin key>
 */
import Anthropic from '@anthropic-ai/sdk';
import { BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand } from '@aws-sdk/client-bedrock-runtime';
import OpenAI from 'openai';

const [url, adminKey] = process.argv.slice(2) as [string, string];
const admin = (path: string, init: RequestInit = {}): Promise<Response> =>
  fetch(`${url}${path}`, { ...init, headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' } });
const { key } = (await (await admin('/admin/keys', { method: 'POST', body: JSON.stringify({ name: 'tls' }) })).json()) as { key: string };

const openai = await new OpenAI({ apiKey: key, baseURL: `${url}/v1`, maxRetries: 0 }).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] });
const anthropic = await new Anthropic({ apiKey: key, baseURL: url, maxRetries: 0 }).messages.create({ model: 'claude-haiku-5-5', max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }] });
const bedrock = new BedrockRuntimeClient({ endpoint: url, region: 'us-east-1', token: { token: key }, authSchemePreference: ['httpBearerAuth'], maxAttempts: 1 });
const converse = await bedrock.send(new ConverseCommand({ modelId: 'amazon.nova-micro-v1:0', messages: [{ role: 'user', content: [{ text: 'Hi' }] }] }));
const stream = await bedrock.send(new ConverseStreamCommand({ modelId: 'amazon.nova-micro-v1:0', messages: [{ role: 'user', content: [{ text: 'Hi' }] }] }));
let streamed = '';
for await (const event of stream.stream ?? []) streamed += event.contentBlockDelta?.delta?.text ?? '';
const handler = ((await bedrock.config.requestHandler) as unknown as { constructor: { name: string } }).constructor.name;
bedrock.destroy();
// The ledger is buffered (flushed every SLUICE_LEDGER_FLUSH_MS): poll until the four rows are in.
let events: { data: Array<{ surface: string }> } = { data: [] };
for (let tries = 0; tries < 100 && events.data.length < 4; tries++) {
  if (tries > 0) await new Promise((resolve) => setTimeout(resolve, 25));
  events = (await (await admin('/admin/usage/events?limit=10')).json()) as typeof events;
}

console.log(
  JSON.stringify({
    openai: openai.choices[0]?.message.content,
    anthropic: anthropic.content[0]?.type,
    converse: converse.stopReason,
    streamed: streamed.length,
    handler,
    surfaces: events.data.map((e) => e.surface).reverse(),
  }),
);
