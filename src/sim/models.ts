/**
 * What the sim knows about models: which names each protocol serves, snapshot names returned in
 * responses, reasoning and service-tier support (OpenAI), minimum cacheable prompt lengths and
 * output limits (Anthropic, and Claude/Nova on Bedrock).
 *
 * Minimum cacheable lengths follow Anthropic's prompt-caching docs (as quoted in
 * anthropics/anthropic-sdk-python#1194): 4096 for Opus 4.5/4.6 and Haiku 4.5, 2048 for Haiku 3/3.5,
 * 1024 for the other current Sonnet/Opus models.
 */

// ---------------------------------------------------------------- OpenAI

/** Served by `/v1/chat/completions`; anything else gets OpenAI's 404 `model_not_found`. */
export function isOpenAIModel(model: string): boolean {
  return /^(gpt-|o\d|chatgpt-|codex-|ft:)/.test(model);
}

/** Aliases resolve to the dated snapshot that OpenAI reports in `model`. */
const OPENAI_SNAPSHOTS: Record<string, string> = {
  'gpt-4o': 'gpt-4o-2024-08-06',
  'gpt-4o-mini': 'gpt-4o-mini-2024-07-18',
  'gpt-4.1': 'gpt-4.1-2025-04-14',
  'gpt-4.1-mini': 'gpt-4.1-mini-2025-04-14',
  'gpt-4.1-nano': 'gpt-4.1-nano-2025-04-14',
  o3: 'o3-2025-04-16',
  'o3-mini': 'o3-mini-2025-01-31',
  'o4-mini': 'o4-mini-2025-04-16',
  'gpt-5': 'gpt-5-2025-08-07',
  'gpt-5-mini': 'gpt-5-mini-2025-08-07',
  'gpt-5-nano': 'gpt-5-nano-2025-08-07',
  'gpt-5.1': 'gpt-5.1-2025-11-13',
  'gpt-5.2': 'gpt-5.2-2025-12-11',
};

export function openAISnapshot(model: string): string {
  return OPENAI_SNAPSHOTS[model] ?? model;
}

/** Models listed by `GET /v1/models` (`created` is the listing's Unix time). */
export const OPENAI_MODEL_LIST: ReadonlyArray<{ id: string; created: number; owned_by: string }> = [
  { id: 'gpt-4o', created: 1715367049, owned_by: 'system' },
  { id: 'gpt-4o-mini', created: 1721172741, owned_by: 'system' },
  { id: 'gpt-4.1', created: 1744316542, owned_by: 'system' },
  { id: 'gpt-4.1-mini', created: 1744318173, owned_by: 'system' },
  { id: 'gpt-4.1-nano', created: 1744321707, owned_by: 'system' },
  { id: 'o3', created: 1744225308, owned_by: 'system' },
  { id: 'o3-mini', created: 1737146383, owned_by: 'system' },
  { id: 'o4-mini', created: 1744225351, owned_by: 'system' },
  { id: 'gpt-5', created: 1754425777, owned_by: 'system' },
  { id: 'gpt-5-mini', created: 1754425928, owned_by: 'system' },
  { id: 'gpt-5-nano', created: 1754426384, owned_by: 'system' },
  { id: 'gpt-5.1', created: 1762996000, owned_by: 'system' },
  { id: 'gpt-5.2', created: 1765411200, owned_by: 'system' },
];

/** o-series and gpt-5 models think before answering; their chat variants do not. */
export function isOpenAIReasoningModel(model: string): boolean {
  return (/^o\d/.test(model) || /^gpt-5/.test(model)) && !model.includes('chat');
}

export type ReasoningEffort = 'none' | 'minimal' | 'low' | 'medium' | 'high' | 'xhigh';

/** gpt-5.1 and later default to no reasoning; earlier reasoning models default to medium. */
export function defaultReasoningEffort(model: string): ReasoningEffort {
  return /^gpt-5\.\d/.test(model) ? 'none' : 'medium';
}

/** Flex processing is sold for o3, o4-mini and the gpt-5 and gpt-6 families (not the chat or pro variants). */
export function offersFlex(model: string): boolean {
  return (/^(o3|o4-mini)(-\d{4}-\d{2}-\d{2})?$/.test(model) || /^gpt-[56]/.test(model)) && !/chat|pro/.test(model);
}

/** Priority processing: gpt-4o, gpt-4.1, o3, o4-mini, gpt-5 and gpt-6 families (not gpt-5 nano, chat, pro). */
export function offersPriority(model: string): boolean {
  return /^(gpt-4o|gpt-4\.1|o3|o4-mini|gpt-5|gpt-6)/.test(model) && !/^gpt-5.*nano|chat|pro/.test(model);
}

// ---------------------------------------------------------------- Anthropic / Claude

export interface ClaudeTraits {
  /** Dated id reported in responses for an undated alias. */
  snapshot: string | null;
  minCacheableTokens: number;
  maxOutputTokens: number;
  supportsThinking: boolean;
  /** Whether the 1-hour cache TTL is accepted on Bedrock (the Anthropic API accepts it everywhere). */
  bedrockOneHourCache: boolean;
}

/** Longest prefix first: `claude-opus-4-5` must win over `claude-opus-4`. */
const CLAUDE_TRAITS: ReadonlyArray<[prefix: string, traits: ClaudeTraits]> = [
  ['claude-opus-4-6', { snapshot: null, minCacheableTokens: 4096, maxOutputTokens: 128000, supportsThinking: true, bedrockOneHourCache: true }],
  ['claude-opus-4-5', { snapshot: 'claude-opus-4-5-20251101', minCacheableTokens: 4096, maxOutputTokens: 64000, supportsThinking: true, bedrockOneHourCache: true }],
  ['claude-opus-4-1', { snapshot: 'claude-opus-4-1-20250805', minCacheableTokens: 1024, maxOutputTokens: 32000, supportsThinking: true, bedrockOneHourCache: false }],
  ['claude-opus-4', { snapshot: 'claude-opus-4-20250514', minCacheableTokens: 1024, maxOutputTokens: 32000, supportsThinking: true, bedrockOneHourCache: false }],
  ['claude-sonnet-4-6', { snapshot: null, minCacheableTokens: 1024, maxOutputTokens: 64000, supportsThinking: true, bedrockOneHourCache: true }],
  ['claude-sonnet-4-5', { snapshot: 'claude-sonnet-4-5-20250929', minCacheableTokens: 1024, maxOutputTokens: 64000, supportsThinking: true, bedrockOneHourCache: true }],
  ['claude-sonnet-4', { snapshot: 'claude-sonnet-4-20250514', minCacheableTokens: 1024, maxOutputTokens: 64000, supportsThinking: true, bedrockOneHourCache: false }],
  ['claude-haiku-4-5', { snapshot: 'claude-haiku-4-5-20251001', minCacheableTokens: 4096, maxOutputTokens: 64000, supportsThinking: true, bedrockOneHourCache: true }],
  ['claude-3-7-sonnet', { snapshot: 'claude-3-7-sonnet-20250219', minCacheableTokens: 1024, maxOutputTokens: 64000, supportsThinking: true, bedrockOneHourCache: false }],
  ['claude-3-5-haiku', { snapshot: 'claude-3-5-haiku-20241022', minCacheableTokens: 2048, maxOutputTokens: 8192, supportsThinking: false, bedrockOneHourCache: false }],
  ['claude-3-haiku', { snapshot: 'claude-3-haiku-20240307', minCacheableTokens: 2048, maxOutputTokens: 4096, supportsThinking: false, bedrockOneHourCache: false }],
];

/** Unknown (newer) Claude names are served with these defaults, as permissive as the newest models. */
const DEFAULT_CLAUDE_TRAITS: ClaudeTraits = {
  snapshot: null,
  minCacheableTokens: 1024,
  maxOutputTokens: 128000,
  supportsThinking: true,
  bedrockOneHourCache: true,
};

export function isClaudeModel(model: string): boolean {
  return model.startsWith('claude-');
}

export function claudeTraits(model: string): ClaudeTraits {
  for (const [prefix, traits] of CLAUDE_TRAITS) if (model.startsWith(prefix)) return traits;
  return DEFAULT_CLAUDE_TRAITS;
}

/** The id Anthropic reports: aliases resolve to their snapshot, dated ids are echoed. */
export function claudeSnapshot(model: string): string {
  const traits = claudeTraits(model);
  const undated = !/-\d{8}$/.test(model);
  return undated && traits.snapshot && traits.snapshot.startsWith(model) ? traits.snapshot : model;
}

// ---------------------------------------------------------------- Bedrock

export interface BedrockModel {
  /** `anthropic.claude-sonnet-4-5-20250929-v1:0` with any region prefix or ARN stripped. */
  baseId: string;
  provider: string;
  /** Claude traits when the model is a Claude model. */
  claude: ClaudeTraits | null;
  /** Prompt caching (cachePoint) support and its rules. */
  cache: { minTokens: number; inTools: boolean; oneHour: boolean } | null;
  /** Claude 3.7+ and Nova Premier are only served through inference profiles. */
  requiresInferenceProfile: boolean;
  /** Whether the id named an inference profile (region prefix or profile ARN). */
  viaInferenceProfile: boolean;
}

const BEDROCK_PROVIDERS = new Set([
  'anthropic', 'amazon', 'meta', 'mistral', 'cohere', 'ai21', 'deepseek', 'openai', 'qwen', 'writer', 'twelvelabs', 'google', 'moonshot', 'minimax',
]);
const INFERENCE_PROFILE_PREFIX = /^(us|eu|apac|us-gov|global|jp|au|ca)\./;

/**
 * Resolves a Bedrock model id as given in the URL: foundation-model ids, cross-region inference
 * profile ids (`us.…`, `global.…`) and ARNs of either. `null` when it does not name a model.
 */
export function resolveBedrockModel(modelId: string): BedrockModel | null {
  let id = modelId;
  let viaInferenceProfile = false;
  if (id.startsWith('arn:')) {
    const match = /^arn:aws[\w-]*:bedrock:[\w-]*:\d*:(foundation-model|inference-profile|application-inference-profile)\/(.+)$/.exec(id);
    if (!match) return null;
    viaInferenceProfile = match[1] !== 'foundation-model';
    id = match[2] as string;
  }
  const prefix = INFERENCE_PROFILE_PREFIX.exec(id);
  if (prefix) {
    viaInferenceProfile = true;
    id = id.slice(prefix[0].length);
  }
  const dot = id.indexOf('.');
  if (dot <= 0) return null;
  const provider = id.slice(0, dot);
  if (!BEDROCK_PROVIDERS.has(provider)) return null;
  const name = id.slice(dot + 1).replace(/-v\d+(:\d+)?$/, '').replace(/:\d+$/, '');
  const claude = provider === 'anthropic' && isClaudeModel(name) ? claudeTraits(name) : null;
  const isNova = provider === 'amazon' && name.startsWith('nova-');
  let cache: BedrockModel['cache'] = null;
  if (claude && !name.startsWith('claude-3-haiku')) {
    cache = { minTokens: claude.minCacheableTokens, inTools: true, oneHour: claude.bedrockOneHourCache };
  } else if (isNova) {
    cache = { minTokens: 1024, inTools: false, oneHour: false };
  }
  const requiresInferenceProfile =
    (claude !== null && !/^claude-3-(5-)?haiku|^claude-3-(5-)?sonnet-2024|^claude-3-opus|^claude-instant/.test(name)) ||
    name.startsWith('nova-premier');
  return { baseId: id, provider, claude, cache, requiresInferenceProfile, viaInferenceProfile };
}
