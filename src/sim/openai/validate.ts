/**
 * Validation of `POST /v1/chat/completions` bodies, with OpenAI's error wording, `param` paths
 * and codes. Produces the normalized request the handler works from.
 */

import { invalidRequest, SimError } from '../errors';
import type { JsonSchema, OutputFormat, ToolDefinition, ToolMode } from '../generate';
import { describeJsonType, isFiniteNumber, isInteger, isObject, isString, type JsonObject } from '../json';
import { defaultReasoningEffort, isOpenAIModel, isOpenAIReasoningModel, type ReasoningEffort } from '../models';

export type ServiceTierRequest = 'auto' | 'default' | 'flex' | 'scale' | 'priority';

export interface ChatRequest {
  model: string;
  messages: JsonObject[];
  stream: boolean;
  includeUsage: boolean;
  includeObfuscation: boolean;
  n: number;
  /** max_completion_tokens (or legacy max_tokens); null = the model's own limit. */
  maxTokens: number | null;
  stop: string[];
  /** Raw `tools[].function` objects: their JSON is part of the prompt. */
  toolFunctions: JsonObject[];
  tools: ToolDefinition[];
  toolMode: ToolMode;
  parallelToolCalls: boolean;
  format: OutputFormat;
  /** JSON schema text of a json_schema response format (part of the prompt). */
  formatSchemaText: string | null;
  logprobs: boolean;
  topLogprobs: number;
  seed: number | null;
  serviceTier: ServiceTierRequest | null;
  reasoningEffort: ReasoningEffort | null;
  promptCacheKey: string | null;
  extendedCacheRetention: boolean;
  predictionText: string | null;
}

const ROLES = ['system', 'assistant', 'user', 'function', 'tool', 'developer'] as const;
const SERVICE_TIERS = ['auto', 'default', 'flex', 'scale', 'priority'] as const;
const EFFORTS = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh'] as const;
const PART_TYPES: Record<string, readonly string[]> = {
  user: ['text', 'image_url', 'input_audio', 'file'],
  system: ['text'],
  developer: ['text'],
  assistant: ['text', 'refusal'],
  tool: ['text'],
  function: ['text'],
};
const FUNCTION_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

function listValues(values: readonly string[]): string {
  const quoted = values.map((v) => `'${v}'`);
  return quoted.length <= 1 ? quoted.join('') : `${quoted.slice(0, -1).join(', ')}, and ${quoted[quoted.length - 1]}`;
}

function missing(param: string): SimError {
  return invalidRequest(`Missing required parameter: '${param}'.`, param, 'missing_required_parameter');
}

function invalidType(param: string, expected: string, value: unknown): SimError {
  return invalidRequest(`Invalid type for '${param}': expected ${expected}, but got ${describeJsonType(value)} instead.`, param, 'invalid_type');
}

function invalidValue(param: string, value: unknown, supported: readonly string[]): SimError {
  return invalidRequest(`Invalid value: '${String(value)}'. Supported values are: ${listValues(supported)}.`, param, 'invalid_value');
}

function unsupportedParameter(param: string, hint = ''): SimError {
  return invalidRequest(`Unsupported parameter: '${param}' is not supported with this model.${hint}`, param, 'unsupported_parameter');
}

function checkRange(param: string, value: unknown, min: number, max: number, integer: boolean): number {
  if (integer ? !isInteger(value) : !isFiniteNumber(value)) throw invalidType(param, integer ? 'an integer' : 'a number', value);
  const kind = integer ? 'integer' : 'decimal';
  if ((value as number) < min) {
    throw invalidRequest(`Invalid '${param}': ${kind} below minimum value. Expected a value >= ${min}, but got ${value as number} instead.`, param, `${kind}_below_min_value`);
  }
  if ((value as number) > max) {
    throw invalidRequest(`Invalid '${param}': ${kind} above maximum value. Expected a value <= ${max}, but got ${value as number} instead.`, param, `${kind}_above_max_value`);
  }
  return value as number;
}

function optionalBoolean(body: JsonObject, param: string): boolean | undefined {
  const value = body[param];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw invalidType(param, 'a boolean', value);
  return value;
}

function validateContentPart(part: unknown, role: string, param: string): void {
  if (!isObject(part)) throw invalidType(param, 'an object', part);
  const allowed = PART_TYPES[role] ?? ['text'];
  if (!isString(part.type) || !allowed.includes(part.type)) throw invalidValue(`${param}.type`, part.type, allowed);
  switch (part.type) {
    case 'text':
      if (!isString(part.text)) throw part.text === undefined ? missing(`${param}.text`) : invalidType(`${param}.text`, 'a string', part.text);
      return;
    case 'refusal':
      if (!isString(part.refusal)) throw missing(`${param}.refusal`);
      return;
    case 'image_url': {
      const image = part.image_url;
      if (!isObject(image) || !isString(image.url)) throw missing(`${param}.image_url.url`);
      if (image.detail !== undefined && !['auto', 'low', 'high'].includes(image.detail as string)) {
        throw invalidValue(`${param}.image_url.detail`, image.detail, ['auto', 'low', 'high']);
      }
      return;
    }
    case 'input_audio': {
      const audio = part.input_audio;
      if (!isObject(audio) || !isString(audio.data)) throw missing(`${param}.input_audio.data`);
      if (!['wav', 'mp3'].includes(audio.format as string)) throw invalidValue(`${param}.input_audio.format`, audio.format, ['wav', 'mp3']);
      return;
    }
    case 'file': {
      const file = part.file;
      if (!isObject(file) || (!isString(file.file_data) && !isString(file.file_id))) {
        throw invalidRequest(`Invalid '${param}.file': one of 'file_data' or 'file_id' is required.`, `${param}.file`, null);
      }
      return;
    }
  }
}

function validateMessages(value: unknown): JsonObject[] {
  if (value === undefined) throw missing('messages');
  if (!Array.isArray(value)) throw invalidType('messages', 'an array of objects', value);
  if (value.length === 0) {
    throw invalidRequest("Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", 'messages', 'empty_array');
  }
  const pendingToolCallIds = new Set<string>();
  value.forEach((message: unknown, i) => {
    const param = `messages[${i}]`;
    if (!isObject(message)) throw invalidType(param, 'an object', message);
    const role = message.role;
    if (role === undefined) throw missing(`${param}.role`);
    if (!isString(role) || !(ROLES as readonly string[]).includes(role)) throw invalidValue(`${param}.role`, role, ROLES);
    const content = message.content;
    const hasToolCalls = role === 'assistant' && Array.isArray(message.tool_calls) && message.tool_calls.length > 0;
    if (content === undefined || content === null) {
      if (role !== 'assistant' || !(hasToolCalls || message.function_call !== undefined || message.audio !== undefined)) {
        throw missing(`${param}.content`);
      }
    } else if (Array.isArray(content)) {
      content.forEach((part: unknown, j) => validateContentPart(part, role, `${param}.content[${j}]`));
    } else if (!isString(content)) {
      throw invalidType(`${param}.content`, 'one of a string or array of objects', content);
    }
    if (message.name !== undefined && !isString(message.name)) throw invalidType(`${param}.name`, 'a string', message.name);

    if (role === 'assistant') {
      pendingToolCallIds.clear();
      if (message.tool_calls !== undefined) {
        if (!Array.isArray(message.tool_calls)) throw invalidType(`${param}.tool_calls`, 'an array of objects', message.tool_calls);
        message.tool_calls.forEach((call: unknown, j) => {
          const callParam = `${param}.tool_calls[${j}]`;
          if (!isObject(call)) throw invalidType(callParam, 'an object', call);
          if (!isString(call.id)) throw missing(`${callParam}.id`);
          const fn = call.function;
          if (!isObject(fn) || !isString(fn.name)) throw missing(`${callParam}.function.name`);
          if (!isString(fn.arguments)) throw missing(`${callParam}.function.arguments`);
          pendingToolCallIds.add(call.id);
        });
      }
    } else if (role === 'tool') {
      if (!isString(message.tool_call_id)) throw missing(`${param}.tool_call_id`);
      if (!pendingToolCallIds.has(message.tool_call_id)) {
        throw invalidRequest(
          "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
          `messages.[${i}].role`,
          null,
        );
      }
    } else {
      pendingToolCallIds.clear();
    }
  });
  return value as JsonObject[];
}

function validateTools(body: JsonObject): { functions: JsonObject[]; tools: ToolDefinition[] } {
  const value = body.tools;
  if (value === undefined || value === null) return { functions: [], tools: [] };
  if (!Array.isArray(value)) throw invalidType('tools', 'an array of objects', value);
  const functions: JsonObject[] = [];
  const tools: ToolDefinition[] = [];
  value.forEach((tool: unknown, i) => {
    const param = `tools[${i}]`;
    if (!isObject(tool)) throw invalidType(param, 'an object', tool);
    if (tool.type !== 'function') throw invalidValue(`${param}.type`, tool.type, ['function']);
    const fn = tool.function;
    if (!isObject(fn)) throw missing(`${param}.function`);
    if (!isString(fn.name)) throw missing(`${param}.function.name`);
    if (!FUNCTION_NAME.test(fn.name)) {
      throw invalidRequest(
        `Invalid '${param}.function.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.`,
        `${param}.function.name`,
        'invalid_value',
      );
    }
    if (fn.parameters !== undefined && !isObject(fn.parameters)) throw invalidType(`${param}.function.parameters`, 'an object', fn.parameters);
    functions.push(fn);
    tools.push({ name: fn.name, inputSchema: fn.parameters as JsonSchema | undefined });
  });
  return { functions, tools };
}

function validateToolChoice(body: JsonObject, tools: ToolDefinition[]): ToolMode {
  const choice = body.tool_choice;
  if (choice === undefined || choice === null) return { kind: tools.length > 0 ? 'auto' : 'none' };
  if (tools.length === 0) {
    throw invalidRequest("Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.", 'tool_choice', null);
  }
  if (choice === 'auto') return { kind: 'auto' };
  if (choice === 'none') return { kind: 'none' };
  if (choice === 'required') return { kind: 'any' };
  if (isObject(choice) && choice.type === 'function' && isObject(choice.function) && isString(choice.function.name)) {
    const name = choice.function.name;
    if (!tools.some((t) => t.name === name)) {
      throw invalidRequest(`Invalid value for 'tool_choice': function '${name}' is not among the functions given in 'tools'.`, 'tool_choice', 'invalid_value');
    }
    return { kind: 'named', name };
  }
  throw invalidRequest(
    "Invalid value for 'tool_choice': expected one of 'none', 'auto', 'required' or {\"type\": \"function\", \"function\": {\"name\": \"...\"}}.",
    'tool_choice',
    'invalid_value',
  );
}

function messagesMentionJson(messages: JsonObject[]): boolean {
  return messages.some((m) => {
    if (isString(m.content)) return /json/i.test(m.content);
    return Array.isArray(m.content) && m.content.some((p: unknown) => isObject(p) && isString(p.text) && /json/i.test(p.text));
  });
}

function validateResponseFormat(body: JsonObject, messages: JsonObject[]): { format: OutputFormat; schemaText: string | null } {
  const value = body.response_format;
  if (value === undefined || value === null) return { format: { kind: 'text' }, schemaText: null };
  if (!isObject(value)) throw invalidType('response_format', 'an object', value);
  switch (value.type) {
    case 'text':
      return { format: { kind: 'text' }, schemaText: null };
    case 'json_object':
      if (!messagesMentionJson(messages)) {
        throw invalidRequest("'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.", 'messages', null);
      }
      return { format: { kind: 'json_object' }, schemaText: null };
    case 'json_schema': {
      const spec = value.json_schema;
      if (!isObject(spec)) throw missing('response_format.json_schema');
      if (!isString(spec.name)) throw missing('response_format.json_schema.name');
      const schema = isObject(spec.schema) ? spec.schema : { type: 'object' };
      return { format: { kind: 'json_schema', schema }, schemaText: JSON.stringify(schema) };
    }
    default:
      throw invalidValue('response_format.type', value.type, ['text', 'json_object', 'json_schema']);
  }
}

function validateStop(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (isString(value)) return [value];
  if (!Array.isArray(value) || !value.every(isString)) throw invalidType('stop', 'one of a string or array of strings', value);
  if (value.length > 4) {
    throw invalidRequest(`Invalid 'stop': array too long. Expected an array with maximum length 4, but got an array with length ${value.length} instead.`, 'stop', 'array_above_max_length');
  }
  return value;
}

function predictionText(value: unknown): string | null {
  if (!isObject(value) || value.type !== 'content') return null;
  if (isString(value.content)) return value.content;
  if (Array.isArray(value.content)) {
    return value.content.map((p: unknown) => (isObject(p) && isString(p.text) ? p.text : '')).join('');
  }
  return null;
}

/** Validates a chat-completions body; throws SimError (400 or 404) in OpenAI's words. */
export function validateChatRequest(body: unknown): ChatRequest {
  if (!isObject(body)) throw invalidRequest('Invalid body: expected a JSON object.', null, null);
  const model = body.model;
  if (model === undefined || model === null || model === '') throw invalidRequest('you must provide a model parameter', null, null);
  if (!isString(model)) throw invalidType('model', 'a string', model);
  const messages = validateMessages(body.messages);
  if (!isOpenAIModel(model)) {
    throw new SimError('not_found', `The model \`${model}\` does not exist or you do not have access to it.`, { code: 'model_not_found' });
  }
  const reasoning = isOpenAIReasoningModel(model);

  const stream = optionalBoolean(body, 'stream') ?? false;
  const streamOptions = body.stream_options;
  if (streamOptions !== undefined && streamOptions !== null) {
    if (!stream) throw invalidRequest("The 'stream_options' parameter is only allowed when 'stream' is enabled.", 'stream_options', null);
    if (!isObject(streamOptions)) throw invalidType('stream_options', 'an object', streamOptions);
  }
  const n = body.n === undefined || body.n === null ? 1 : checkRange('n', body.n, 1, 128, true);

  if (reasoning && body.max_tokens !== undefined && body.max_tokens !== null) {
    throw unsupportedParameter('max_tokens', " Use 'max_completion_tokens' instead.");
  }
  let maxTokens: number | null = null;
  for (const param of ['max_completion_tokens', 'max_tokens'] as const) {
    const value = body[param];
    if (value !== undefined && value !== null && maxTokens === null) maxTokens = checkRange(param, value, 1, 1_000_000, true);
  }

  for (const [param, max] of [['temperature', 2], ['top_p', 1]] as const) {
    const value = body[param];
    if (value === undefined || value === null) continue;
    checkRange(param, value, 0, max, false);
    if (reasoning && value !== 1) {
      throw invalidRequest(
        `Unsupported value: '${param}' does not support ${String(value)} with this model. Only the default (1) value is supported.`,
        param,
        'unsupported_value',
      );
    }
  }

  const stop = validateStop(body.stop);
  if (reasoning && stop.length > 0) throw unsupportedParameter('stop');

  const logprobs = optionalBoolean(body, 'logprobs') ?? false;
  if (reasoning && logprobs) throw unsupportedParameter('logprobs');
  let topLogprobs = 0;
  if (body.top_logprobs !== undefined && body.top_logprobs !== null) {
    topLogprobs = checkRange('top_logprobs', body.top_logprobs, 0, 20, true);
    if (!logprobs) throw invalidRequest("Invalid value for 'top_logprobs': 'logprobs' must be set to true when 'top_logprobs' is used.", 'top_logprobs', null);
  }

  const { functions, tools } = validateTools(body);
  const toolMode = validateToolChoice(body, tools);
  const parallel = optionalBoolean(body, 'parallel_tool_calls');
  if (parallel !== undefined && tools.length === 0) {
    throw invalidRequest("Invalid value for 'parallel_tool_calls': 'parallel_tool_calls' is only allowed when 'tools' are specified.", 'parallel_tool_calls', null);
  }
  const { format, schemaText } = validateResponseFormat(body, messages);

  let seed: number | null = null;
  if (body.seed !== undefined && body.seed !== null) {
    if (!isInteger(body.seed)) throw invalidType('seed', 'an integer', body.seed);
    seed = body.seed;
  }

  let serviceTier: ServiceTierRequest | null = null;
  if (body.service_tier !== undefined && body.service_tier !== null) {
    if (!(SERVICE_TIERS as readonly unknown[]).includes(body.service_tier)) throw invalidValue('service_tier', body.service_tier, SERVICE_TIERS);
    serviceTier = body.service_tier as ServiceTierRequest;
  }

  let reasoningEffort: ReasoningEffort | null = null;
  if (body.reasoning_effort !== undefined && body.reasoning_effort !== null) {
    if (!reasoning) throw unsupportedParameter('reasoning_effort');
    if (!(EFFORTS as readonly unknown[]).includes(body.reasoning_effort)) throw invalidValue('reasoning_effort', body.reasoning_effort, EFFORTS);
    reasoningEffort = body.reasoning_effort as ReasoningEffort;
  } else if (reasoning) {
    reasoningEffort = defaultReasoningEffort(model);
  }

  if (Array.isArray(body.modalities) && body.modalities.includes('audio')) {
    throw invalidRequest(
      "The sim does not generate audio: send 'modalities' without 'audio' (audio input parts are accepted).",
      'modalities',
      'unsupported_value',
    );
  }

  const promptCacheKey = body.prompt_cache_key;
  if (promptCacheKey !== undefined && promptCacheKey !== null && !isString(promptCacheKey)) throw invalidType('prompt_cache_key', 'a string', promptCacheKey);
  const retention = body.prompt_cache_retention;
  if (retention !== undefined && retention !== null && retention !== 'in-memory' && retention !== '24h') {
    throw invalidValue('prompt_cache_retention', retention, ['in-memory', '24h']);
  }

  return {
    model,
    messages,
    stream,
    includeUsage: isObject(streamOptions) && streamOptions.include_usage === true,
    includeObfuscation: !(isObject(streamOptions) && streamOptions.include_obfuscation === false),
    n,
    maxTokens,
    stop,
    toolFunctions: functions,
    tools,
    toolMode,
    parallelToolCalls: parallel ?? true,
    format,
    formatSchemaText: schemaText,
    logprobs,
    topLogprobs,
    seed,
    serviceTier,
    reasoningEffort,
    promptCacheKey: isString(promptCacheKey) ? promptCacheKey : null,
    extendedCacheRetention: retention === '24h',
    predictionText: predictionText(body.prediction),
  };
}
