/**
 * Validation of Converse / ConverseStream bodies, with Bedrock's ValidationException wording where
 * it is known ("A conversation must start with a user message...").
 */

import { invalidRequest, SimError } from '../errors';
import type { JsonSchema, ToolDefinition, ToolMode } from '../generate';
import { isFiniteNumber, isInteger, isObject, isString, type JsonObject } from '../json';
import { resolveBedrockModel, type BedrockModel } from '../models';
import type { CacheTtl } from '../prompt-cache';

export interface ConverseRequest {
  modelId: string;
  model: BedrockModel;
  messages: Array<{ role: 'user' | 'assistant'; content: JsonObject[] }>;
  system: JsonObject[];
  /** `toolConfig.tools` entries (tool specs and cache points) in order. */
  toolEntries: JsonObject[];
  tools: ToolDefinition[];
  toolMode: ToolMode;
  maxTokens: number;
  stopSequences: string[];
  thinkingBudget: number;
  serviceTier: string | null;
  latency: string | null;
}

const MAX_CACHE_POINTS = 4;
const DEFAULT_MAX_TOKENS = 4096;
const MESSAGE_BLOCKS = ['text', 'image', 'document', 'video', 'toolUse', 'toolResult', 'guardContent', 'cachePoint', 'reasoningContent', 'citationsContent', 'searchResult'];
const SYSTEM_BLOCKS = ['text', 'guardContent', 'cachePoint'];

function validationError(message: string): SimError {
  return invalidRequest(message);
}

function constraint(value: unknown, path: string, rule: string): SimError {
  return validationError(`1 validation error detected: Value '${JSON.stringify(value) ?? 'null'}' at '${path}' failed to satisfy constraint: ${rule}`);
}

/** The single member of a union-shaped block (`{"text": ...}`, `{"toolUse": {...}}`). */
export function blockKind(block: JsonObject): string {
  return Object.keys(block)[0] ?? '';
}

function validateBlocks(value: unknown, path: string, allowed: readonly string[]): JsonObject[] {
  if (!Array.isArray(value)) throw constraint(value, path, 'Member must not be null');
  return value.map((block: unknown, i) => {
    const keys = isObject(block) ? Object.keys(block) : [];
    if (!isObject(block) || keys.length !== 1 || !allowed.includes(keys[0] as string)) {
      throw validationError(`The content block at ${path}.${i} must contain exactly one of: ${allowed.join(', ')}.`);
    }
    return block;
  });
}

function cacheTtl(block: JsonObject, model: BedrockModel, path: string): CacheTtl {
  const point = block.cachePoint;
  if (!isObject(point) || point.type !== 'default') throw constraint(point, `${path}.cachePoint.type`, 'Member must satisfy enum value set: [default]');
  if (point.ttl === undefined) return '5m';
  if (point.ttl !== '5m' && point.ttl !== '1h') throw constraint(point.ttl, `${path}.cachePoint.ttl`, 'Member must satisfy enum value set: [5m, 1h]');
  if (point.ttl === '1h' && !model.cache?.oneHour) throw validationError(`The model ${model.baseId} does not support a 1-hour cache TTL. Remove ttl or use "5m".`);
  return point.ttl;
}

/** Checks cache points: model support, where they sit, how many, and that 1h ones come first. */
function checkCachePoints(request: ConverseRequest): void {
  const sections: Array<[string, JsonObject[]]> = [
    ['toolConfig.tools', request.toolEntries],
    ['system', request.system],
    ...request.messages.map((m, i): [string, JsonObject[]] => [`messages.${i}.content`, m.content]),
  ];
  const ttls: CacheTtl[] = [];
  let blocksBefore = 0;
  for (const [path, blocks] of sections) {
    blocks.forEach((block, i) => {
      if (blockKind(block) !== 'cachePoint') {
        blocksBefore++;
        return;
      }
      if (!request.model.cache) throw validationError(`The model ${request.model.baseId} does not support prompt caching. Remove the cachePoint blocks and try again.`);
      if (path === 'toolConfig.tools' && !request.model.cache.inTools) throw validationError(`The model ${request.model.baseId} does not support cachePoint in toolConfig.`);
      if (blocksBefore === 0) throw validationError(`The cachePoint at ${path}.${i} must follow the content it caches.`);
      ttls.push(cacheTtl(block, request.model, `${path}.${i}`));
    });
  }
  if (ttls.length > MAX_CACHE_POINTS) throw validationError(`A maximum of ${MAX_CACHE_POINTS} cachePoint blocks may be provided. Found ${ttls.length}.`);
  const first5m = ttls.indexOf('5m');
  if (first5m !== -1 && ttls.indexOf('1h', first5m) !== -1) throw validationError('A cachePoint with ttl "1h" cannot come after a cachePoint with ttl "5m".');
}

function validateMessages(value: unknown): ConverseRequest['messages'] {
  if (!Array.isArray(value) || value.length === 0) throw constraint(value ?? null, 'messages', 'Member must have length greater than or equal to 1');
  const messages = value.map((message: unknown, i) => {
    if (!isObject(message)) throw constraint(message, `messages.${i + 1}.member`, 'Member must not be null');
    if (message.role !== 'user' && message.role !== 'assistant') {
      throw constraint(message.role, `messages.${i + 1}.member.role`, 'Member must satisfy enum value set: [user, assistant]');
    }
    const role: 'user' | 'assistant' = message.role;
    return { role, content: validateBlocks(message.content, `messages.${i}.content`, MESSAGE_BLOCKS) };
  });
  if (messages[0]?.role !== 'user') {
    throw validationError('A conversation must start with a user message. Try again with a conversation that starts with a user message.');
  }
  messages.forEach((message, i) => {
    if (i > 0 && messages[i - 1]?.role === message.role) {
      throw validationError('A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.');
    }
    const previous = messages[i - 1];
    const offered = new Set(
      previous?.content.filter((b) => blockKind(b) === 'toolUse').map((b) => String((b.toolUse as JsonObject | undefined)?.toolUseId)) ?? [],
    );
    for (const block of message.content) {
      if (blockKind(block) !== 'toolResult') continue;
      const id = String((block.toolResult as JsonObject | undefined)?.toolUseId);
      if (!offered.has(id)) {
        throw validationError(`The toolResult block with toolUseId ${id} in messages.${i} does not match any toolUse block in the previous turn.`);
      }
    }
  });
  return messages;
}

function validateTools(body: JsonObject, hasToolBlocks: boolean): Pick<ConverseRequest, 'toolEntries' | 'tools' | 'toolMode'> {
  const config = body.toolConfig;
  if (config === undefined || config === null) {
    if (hasToolBlocks) throw validationError('The toolConfig field must be defined when using toolUse and toolResult content blocks.');
    return { toolEntries: [], tools: [], toolMode: { kind: 'none' } };
  }
  if (!isObject(config) || !Array.isArray(config.tools) || config.tools.length === 0) {
    throw constraint(isObject(config) ? config.tools : config, 'toolConfig.tools', 'Member must have length greater than or equal to 1');
  }
  const toolEntries = validateBlocks(config.tools, 'toolConfig.tools', ['toolSpec', 'cachePoint', 'systemTool']);
  const tools: ToolDefinition[] = [];
  toolEntries.forEach((entry, i) => {
    const spec = entry.toolSpec;
    if (spec === undefined) return;
    if (!isObject(spec) || !isString(spec.name)) throw constraint(null, `toolConfig.tools.${i + 1}.member.toolSpec.name`, 'Member must not be null');
    if (!/^[a-zA-Z0-9_-]{1,64}$/.test(spec.name)) {
      throw constraint(spec.name, `toolConfig.tools.${i + 1}.member.toolSpec.name`, 'Member must satisfy regular expression pattern: [a-zA-Z0-9_-]+');
    }
    const schema = isObject(spec.inputSchema) && isObject(spec.inputSchema.json) ? (spec.inputSchema.json as JsonSchema) : undefined;
    if (!schema) throw validationError(`toolConfig.tools.${i}.toolSpec.inputSchema must contain a "json" schema.`);
    tools.push({ name: spec.name, inputSchema: schema });
  });
  const choice = config.toolChoice;
  let toolMode: ToolMode = { kind: 'auto' };
  if (isObject(choice)) {
    if (isObject(choice.any)) toolMode = { kind: 'any' };
    else if (isObject(choice.tool) && isString(choice.tool.name)) {
      const name = choice.tool.name;
      if (!tools.some((t) => t.name === name)) throw validationError(`toolConfig.toolChoice.tool.name "${name}" does not match any tool in toolConfig.tools.`);
      toolMode = { kind: 'named', name };
    } else if (!isObject(choice.auto)) {
      throw validationError('toolConfig.toolChoice must contain exactly one of: auto, any, tool.');
    }
  }
  return { toolEntries, tools, toolMode };
}

function validateThinking(body: JsonObject, model: BedrockModel, maxTokens: number): number {
  const fields = body.additionalModelRequestFields;
  if (!isObject(fields) || !isObject(fields.thinking) || fields.thinking.type !== 'enabled') return 0;
  if (!model.claude?.supportsThinking) throw validationError(`The model ${model.baseId} does not support extended thinking.`);
  const budget = fields.thinking.budget_tokens;
  if (!isInteger(budget) || budget < 1024) throw validationError('The model returned the following errors: thinking.enabled.budget_tokens: Input should be greater than or equal to 1024');
  if (maxTokens <= budget) throw validationError('The model returned the following errors: `max_tokens` must be greater than `thinking.budget_tokens`.');
  return budget;
}

export function validateConverseRequest(modelId: string, body: unknown): ConverseRequest {
  const model = resolveBedrockModel(modelId);
  if (!model) throw validationError('The provided model identifier is invalid.');
  if (model.requiresInferenceProfile && !model.viaInferenceProfile) {
    throw validationError(
      `Invocation of model ID ${model.baseId} with on-demand throughput isn’t supported. Retry your request with the ID or ARN of an inference profile that contains this model.`,
    );
  }
  if (!isObject(body)) throw validationError('Malformed input request: expected a JSON object, please reformat your input and try again.');
  const messages = validateMessages(body.messages);
  const system = body.system === undefined ? [] : validateBlocks(body.system, 'system', SYSTEM_BLOCKS);
  const hasToolBlocks = messages.some((m) => m.content.some((b) => blockKind(b) === 'toolUse' || blockKind(b) === 'toolResult'));
  const { toolEntries, tools, toolMode } = validateTools(body, hasToolBlocks);

  const config = isObject(body.inferenceConfig) ? body.inferenceConfig : {};
  const limit = model.claude?.maxOutputTokens ?? DEFAULT_MAX_TOKENS;
  let maxTokens = limit;
  if (config.maxTokens !== undefined) {
    if (!isInteger(config.maxTokens) || config.maxTokens < 1) throw constraint(config.maxTokens, 'inferenceConfig.maxTokens', 'Member must have value greater than or equal to 1');
    if (config.maxTokens > limit) {
      throw validationError(`The maximum tokens you requested exceeds the model limit of ${limit}. Try again with a maximum tokens value that is lower than ${limit}.`);
    }
    maxTokens = config.maxTokens;
  }
  for (const field of ['temperature', 'topP'] as const) {
    const value = config[field];
    if (value !== undefined && (!isFiniteNumber(value) || value < 0 || value > 1)) {
      throw constraint(value, `inferenceConfig.${field}`, 'Member must have value less than or equal to 1');
    }
  }
  const stops = config.stopSequences;
  if (stops !== undefined && (!Array.isArray(stops) || !stops.every(isString))) throw constraint(stops, 'inferenceConfig.stopSequences', 'Member must be a list of strings');

  const tier = isObject(body.serviceTier) ? body.serviceTier.type : undefined;
  if (tier !== undefined && !['default', 'flex', 'priority', 'reserved'].includes(tier as string)) {
    throw constraint(tier, 'serviceTier.type', 'Member must satisfy enum value set: [default, flex, priority, reserved]');
  }
  const latency = isObject(body.performanceConfig) && isString(body.performanceConfig.latency) ? body.performanceConfig.latency : null;

  const request: ConverseRequest = {
    modelId,
    model,
    messages,
    system,
    toolEntries,
    tools,
    toolMode,
    maxTokens,
    stopSequences: (stops as string[] | undefined) ?? [],
    thinkingBudget: validateThinking(body, model, maxTokens),
    serviceTier: isString(tier) ? tier : null,
    latency,
  };
  checkCachePoints(request);
  return request;
}
