import { AwsV4Signer } from 'aws4fetch';
import type { Config } from '../config';
import { SluiceError } from '../errors';
import { newId } from '../util/ids';
import {
  completionFromConverse,
  ConverseStreamDecoder,
  exceptionName,
  isClaude,
  parseConverseResponse,
  tierFromConverse,
  toConverseBody,
} from './converse';
import type { ConversePrompt } from '../cache/converse-cache-points';
import type { UpstreamRequest } from './transport';
import type { ChatTarget, PassthroughAdapter, ProviderAdapter, UpstreamFailure } from './types';

/**
 * Amazon Bedrock's runtime (Converse and ConverseStream) as an upstream, authenticated with a
 * Bedrock API key (bearer) or AWS SigV4 (aws4fetch: WebCrypto, so it runs on Workers too).
 */

/** Derived SigV4 signing keys, one per day, region and service: aws4fetch fills it. */
const signingKeys = new Map<string, ArrayBuffer>();

function malformed(what: string): SluiceError {
  return new SluiceError('upstream_error', `The Bedrock upstream sent ${what}; the request may have been served but could not be read.`);
}

/** SigV4's timestamp form, 20261125T101500Z. */
function amzDate(nowMs: number): string {
  return new Date(nowMs).toISOString().replace(/[:-]|\.\d{3}/g, '');
}

type Operation = 'converse' | 'converse-stream' | 'count-tokens';

async function runtimeRequest(target: ChatTarget, config: Config, operation: Operation, body: unknown): Promise<UpstreamRequest> {
  const { apiKey, accessKeyId, secretAccessKey, sessionToken, region, baseUrl } = config.providers.bedrock;
  const url = `${baseUrl}/model/${encodeURIComponent(target.model.upstream_id)}/${operation}`;
  const text = JSON.stringify(body);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: operation === 'converse-stream' ? 'application/vnd.amazon.eventstream' : 'application/json',
  };
  if (apiKey) {
    headers.authorization = `Bearer ${apiKey}`;
  } else if (accessKeyId && secretAccessKey) {
    const signer = new AwsV4Signer({
      method: 'POST',
      url,
      headers,
      body: text,
      accessKeyId,
      secretAccessKey,
      ...(sessionToken ? { sessionToken } : {}),
      service: 'bedrock',
      region,
      cache: signingKeys,
      datetime: amzDate(target.nowMs),
    });
    const signed = await signer.sign();
    signed.headers.forEach((value, name) => {
      headers[name] = value;
    });
  }
  return { method: 'POST', url, headers, body: text, timeoutMs: target.timeoutMs, ...(target.signal ? { signal: target.signal } : {}) };
}

/** The tier Sluice chose, in a caller's own body (a fallback to standard undoes the flex it asked for). */
function withServiceTier(body: Record<string, unknown>, tier: ChatTarget['tier']): Record<string, unknown> {
  if (tier === 'flex' || tier === 'priority') return { ...body, serviceTier: { type: tier } };
  const asked = (body.serviceTier as { type?: unknown } | undefined)?.type;
  return asked === 'flex' || asked === 'priority' ? { ...body, serviceTier: { type: 'default' } } : body;
}

/** Bedrock callers: their Converse body as it is, for the model resolved from the path. */
const bedrockPassthrough: PassthroughAdapter = {
  protocol: 'bedrock',

  buildRequest(target, native, config) {
    const body = withServiceTier(native.body, target.tier) as Record<string, unknown> & ConversePrompt;
    return runtimeRequest(target, config, target.stream ? 'converse-stream' : 'converse', target.promptCache ? target.promptCache.converse(body) : body);
  },

  countTokens: {
    counts: isClaude,
    buildRequest(target, native, config) {
      return runtimeRequest(target, config, 'count-tokens', native.body);
    },
    countField: 'inputTokens',
  },
};

export const bedrockAdapter: ProviderAdapter = {
  id: 'bedrock',

  missingCredentials(config) {
    const { apiKey, accessKeyId, secretAccessKey, baseUrl } = config.providers.bedrock;
    if (apiKey || (accessKeyId && secretAccessKey)) return undefined;
    if (!new URL(baseUrl).hostname.endsWith('.amazonaws.com')) return undefined;
    return 'Sluice has no Bedrock credentials: set AWS_BEARER_TOKEN_BEDROCK (a Bedrock API key), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.';
  },

  buildChatRequest(target, config) {
    const body = toConverseBody(target);
    return runtimeRequest(target, config, target.stream ? 'converse-stream' : 'converse', target.promptCache ? target.promptCache.converse(body) : body);
  },

  parseChatResponse(body, target, nowMs) {
    const parsed = parseConverseResponse(body, malformed);
    const { completion, usage } = completionFromConverse(parsed, newId('chatcmpl', nowMs), target.model.upstream_id, nowMs);
    return { completion, usage, servedTier: tierFromConverse(parsed.serviceTier) };
  },

  createStreamDecoder(target) {
    return new ConverseStreamDecoder(newId('chatcmpl', target.nowMs), target.model.upstream_id, target.nowMs, malformed);
  },

  parseError(status, body, headers): UpstreamFailure {
    let message = body.slice(0, 500) || `HTTP ${status}`;
    let type = headers['x-amzn-errortype']?.split(':')[0] ?? '';
    try {
      const parsed = JSON.parse(body) as { message?: string; Message?: string; __type?: string };
      message = parsed.message ?? parsed.Message ?? message;
      if (!type && parsed.__type) type = parsed.__type.split('#').pop() ?? '';
    } catch {
      // Not JSON: keep the start of the body as the message.
    }
    return { status, type: type ? exceptionName(type) : 'InternalServerException', message, retryAfter: headers['retry-after'] };
  },

  passthrough: bedrockPassthrough,
};
