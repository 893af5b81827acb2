import type { ChatRequest } from '../gateway/chat';
import { sha256Hex } from '../util/ids';
import { canonicalJson } from './hash';

/**
 * Request fields that do not change the answer: how it is delivered (stream, stream_options),
 * who is billed or logged (user, metadata, safety_identifier, store), which capacity serves it
 * (service_tier) and provider cache routing hints. Everything else, unknown fields included, is
 * part of the key: a field Sluice does not know might change the answer.
 */
const DELIVERY_ONLY = new Set([
  'model',
  'stream',
  'stream_options',
  'user',
  'metadata',
  'safety_identifier',
  'store',
  'service_tier',
  'prompt_cache_key',
  'prompt_cache_retention',
]);

/** Bumped when the normalization changes, so old entries stop matching. */
const KEY_VERSION = 'v1';

/**
 * The response cache key: SHA-256 (hex) of the canonical JSON of the scope, the model that will
 * serve the request, and every output-relevant field. Explicit nulls count as absent.
 */
export async function responseCacheKey(scope: string, servedModel: string, request: ChatRequest): Promise<string> {
  const relevant: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(request)) {
    if (value != null && !DELIVERY_ONLY.has(name)) relevant[name] = value;
  }
  return sha256Hex(canonicalJson({ version: KEY_VERSION, scope, model: servedModel, request: relevant }));
}
