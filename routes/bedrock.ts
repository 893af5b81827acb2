import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { SluiceError } from '../src/errors';
import { countTokens } from '../src/gateway/count-tokens';
import { handleChat, type ChatOutcome, type PassthroughOutcome } from '../src/gateway/handle-chat';
import { parseHints, type RequestHints } from '../src/gateway/hints';
import { requireKey } from '../src/http/auth';
import { readJson } from '../src/http/body';
import { callerSignal, sendJson } from '../src/http/raw';
import { speaks } from '../src/http/protocol';
import { sendStream } from '../src/http/stream';
import type { AppEnv } from '../src/http/types';
import { catalogNameForModelId } from '../src/surfaces/bedrock/model-id';
import { ConverseRequest, CountTokensRequest, toCanonical } from '../src/surfaces/bedrock/request';
import { ConverseEventWriter, converseFromCompletion, streamException } from '../src/surfaces/bedrock/response';
import { deferredAccepted } from './deferred';

const EVENT_STREAM = 'application/vnd.amazon.eventstream';

/** AWS SDKs sign with SigV4 unless told to send a Bedrock API key; say how, rather than "invalid key". */
const bearerOnly: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.req.header('authorization')?.startsWith('AWS4-HMAC-SHA256')) {
    throw new SluiceError(
      'unauthorized',
      'Sluice takes your Sluice key as a Bedrock API key (a bearer token), not AWS SigV4 credentials: new BedrockRuntimeClient({ endpoint, token: { token: "sk-sluice-..." }, authSchemePreference: ["httpBearerAuth"] }), or set AWS_BEARER_TOKEN_BEDROCK.',
    );
  }
  await next();
};

function latencyMs(c: Context<AppEnv>): number {
  return Math.round(performance.now() - c.get('startedHr'));
}

/** Converse's requestMetadata is the caller's own labels: recorded as detail tags, under the header's. */
function hintsWithTags(c: Context<AppEnv>, tags: Record<string, string>): RequestHints {
  const hints = parseHints((name) => c.req.header(name));
  return { ...hints, tags: { ...tags, ...hints.tags } };
}

function respond(c: Context<AppEnv>, outcome: ChatOutcome | PassthroughOutcome): Response {
  const headers = { ...outcome.headers, 'x-amzn-requestid': c.get('requestId') };
  switch (outcome.kind) {
    case 'deferred':
      return deferredAccepted(outcome, c.req.url);
    case 'native-completion':
      return sendJson(c, { headers, record: outcome.record }, () => outcome.body);
    case 'native-stream':
      return sendStream(c, { ...headers, 'content-type': EVENT_STREAM }, outcome.bytes, { render: (bytes) => bytes, end: () => '', error: streamException });
    case 'completion':
      return sendJson(c, { headers, record: outcome.record }, () => JSON.stringify(converseFromCompletion(outcome.result.completion, outcome.result.usage, latencyMs(c))));
    case 'stream': {
      const writer = new ConverseEventWriter(() => latencyMs(c));
      return sendStream(c, { ...headers, 'content-type': EVENT_STREAM }, outcome.chunks, {
        render: (chunk) => writer.chunk(chunk),
        end: () => writer.finish(outcome.usage()),
        error: streamException,
      });
    }
  }
}

async function converse(c: Context<AppEnv>, stream: boolean): Promise<Response> {
  const body = await readJson(c, ConverseRequest);
  const model = catalogNameForModelId(c.get('services').catalog.current, c.req.param('modelId') ?? '');
  const { request, extras, untranslatable, tags } = toCanonical(model, body, stream);
  const outcome = await handleChat(c.get('services'), {
    requestId: c.get('requestId'),
    surface: 'bedrock',
    principal: c.get('principal'),
    request,
    stream,
    hints: hintsWithTags(c, tags),
    receivedAt: c.get('services').deps.clock.now(),
    startedHr: c.get('startedHr'),
    signal: callerSignal(c),
    native: { protocol: 'bedrock', body, headers: {}, untranslatable },
    extras,
  });
  return respond(c, outcome);
}

function invokeModelUnsupported(): never {
  throw new SluiceError('not_found', 'Sluice serves the Bedrock runtime’s Converse API (converse, converse-stream, count-tokens), not InvokeModel: send a ConverseCommand or ConverseStreamCommand instead.');
}

/**
 * The Bedrock runtime front door: `POST /model/{modelId}/converse`, `/converse-stream` (AWS
 * event-stream) and `/count-tokens`, for `@aws-sdk/client-bedrock-runtime` pointed at Sluice.
 * `modelId` is a Bedrock id, profile or ARN, a catalog id, or an `auto:<family>` router.
 */
export const bedrockRoutes = new Hono<AppEnv>()
  .use('/model/*', speaks('bedrock'), bearerOnly, requireKey)
  .post('/model/:modelId/converse', (c) => converse(c, false))
  .post('/model/:modelId/converse-stream', (c) => converse(c, true))
  // Two static paths rather than one `:operation{invoke|…}` pattern: beside the static siblings a
  // pattern makes Hono's RegExpRouter give up, and every request in the app would then be matched
  // by the slower, allocating TrieRouter.
  .post('/model/:modelId/invoke', invokeModelUnsupported)
  .post('/model/:modelId/invoke-with-response-stream', invokeModelUnsupported)
  .post('/model/:modelId/count-tokens', async (c) => {
    const body = await readJson(c, CountTokensRequest);
    const model = catalogNameForModelId(c.get('services').catalog.current, c.req.param('modelId'));
    const { request, untranslatable, tags } = toCanonical(model, body.input.converse, false);
    const counted = await countTokens(c.get('services'), {
      principal: c.get('principal'),
      request,
      native: { protocol: 'bedrock', body, headers: {}, untranslatable },
      hints: hintsWithTags(c, tags),
      signal: callerSignal(c),
    });
    return c.json({ inputTokens: counted.inputTokens }, 200, { ...counted.headers, 'x-amzn-requestid': c.get('requestId') });
  });
