/**
 * Validation of Messages API bodies (`/v1/messages`, `/v1/messages/count_tokens`, batch params),
 * worded like Anthropic's validator ("messages.0.role: Input should be 'user' or 'assistant'").
 */

import { invalidRequest, SimError } from '../errors';
import type { JsonSchema, ToolDefinition, ToolMode } from '../generate';
import { describeJsonType, isFiniteNumber, isInteger, isObject, isString, type JsonObject } from '../json';
import { claudeSnapshot, claudeTraits, isClaudeModel } from '../models';
import type { CacheTtl } from '../prompt-cache';

export interface MessagesRequest {
  model: string;
  maxTokens: number;
  /** System prompt as text blocks (a string system becomes one block). */
  system: JsonObject[];
  /** Messages with string content normalized to one text block. */
  messages: Array<{ role: 'user' | 'assistant'; content: JsonObject[] }>;
  /** Raw tool definitions: their JSON is part of the prompt. */
  rawTools: JsonObject[];
  tools: ToolDefinition[];
  toolMode: ToolMode;
  parallelToolCalls: boolean;
  stopSequences: string[];
  stream: boolean;
  /** Visible thinking budget; 0 when thinking is off. */
  thinkingBudget: number;
  /** Top-level `cache_control` (automatic caching): a breakpoint on the last block. */
  automaticCacheTtl: CacheTtl | null;
}

const MAX_BREAKPOINTS = 4;
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,128}$/;
const CONTENT_TYPES = [
  'text', 'image', 'document', 'search_result', 'tool_use', 'tool_result', 'thinking', 'redacted_thinking',
  'server_tool_use', 'web_search_tool_result', 'web_fetch_tool_result', 'code_execution_tool_result', 'container_upload',
];

function fieldRequired(path: string): SimError {
  return invalidRequest(`${path}: Field required`);
}

function wrongType(path: string, expected: string, value: unknown): SimError {
  return invalidRequest(`${path}: Input should be ${expected} (got ${describeJsonType(value)})`);
}

function cacheTtlOf(block: JsonObject, path: string): CacheTtl | null {
  const control = block.cache_control;
  if (control === undefined || control === null) return null;
  const field = path === '' ? 'cache_control' : `${path}.cache_control`;
  if (!isObject(control) || control.type !== 'ephemeral') throw invalidRequest(`${field}.type: Input should be 'ephemeral'`);
  if (control.ttl === undefined) return '5m';
  if (control.ttl !== '5m' && control.ttl !== '1h') throw invalidRequest(`${field}.ttl: Input should be '5m' or '1h'`);
  return control.ttl;
}

function validateBlock(block: unknown, path: string, role: string): JsonObject {
  if (!isObject(block)) throw wrongType(path, 'a valid dictionary', block);
  if (!isString(block.type) || !CONTENT_TYPES.includes(block.type)) {
    throw invalidRequest(`${path}.type: Input tag '${String(block.type)}' found using 'type' does not match any of the expected tags: ${CONTENT_TYPES.map((t) => `'${t}'`).join(', ')}`);
  }
  switch (block.type) {
    case 'text':
      if (!isString(block.text)) throw block.text === undefined ? fieldRequired(`${path}.text`) : wrongType(`${path}.text`, 'a valid string', block.text);
      break;
    case 'image':
    case 'document':
      if (!isObject(block.source) || !isString(block.source.type)) throw fieldRequired(`${path}.source`);
      break;
    case 'tool_use':
      if (role !== 'assistant') throw invalidRequest(`${path}: tool_use blocks may only appear in assistant messages`);
      if (!isString(block.id)) throw fieldRequired(`${path}.id`);
      if (!isString(block.name)) throw fieldRequired(`${path}.name`);
      if (!isObject(block.input)) throw wrongType(`${path}.input`, 'a valid dictionary', block.input);
      break;
    case 'tool_result':
      if (role !== 'user') throw invalidRequest(`${path}: tool_result blocks may only appear in user messages`);
      if (!isString(block.tool_use_id)) throw fieldRequired(`${path}.tool_use_id`);
      break;
    case 'thinking':
      if (!isString(block.thinking)) throw fieldRequired(`${path}.thinking`);
      if (!isString(block.signature)) throw fieldRequired(`${path}.signature`);
      break;
  }
  return block;
}

function validateMessages(value: unknown): MessagesRequest['messages'] {
  if (value === undefined) throw fieldRequired('messages');
  if (!Array.isArray(value)) throw wrongType('messages', 'a valid list', value);
  if (value.length === 0) throw invalidRequest('messages: at least one message is required');
  const messages = value.map((message: unknown, i) => {
    const path = `messages.${i}`;
    if (!isObject(message)) throw wrongType(path, 'a valid dictionary', message);
    if (message.role !== 'user' && message.role !== 'assistant') throw invalidRequest(`${path}.role: Input should be 'user' or 'assistant'`);
    const role: 'user' | 'assistant' = message.role;
    const content = message.content;
    if (content === undefined) throw fieldRequired(`${path}.content`);
    if (isString(content)) return { role, content: [{ type: 'text', text: content }] };
    if (!Array.isArray(content)) throw wrongType(`${path}.content`, 'a valid list', content);
    return { role, content: content.map((block: unknown, j) => validateBlock(block, `${path}.content.${j}`, role)) };
  });

  // Every tool_use needs its tool_result in the very next message, and vice versa.
  messages.forEach((message, i) => {
    if (message.role !== 'user') return;
    const previous = messages[i - 1];
    const offered = new Set(previous?.role === 'assistant' ? previous.content.filter((b) => b.type === 'tool_use').map((b) => String(b.id)) : []);
    const unexpected = message.content.filter((b) => b.type === 'tool_result' && !offered.has(String(b.tool_use_id))).map((b) => String(b.tool_use_id));
    if (unexpected.length > 0) {
      throw invalidRequest(
        `messages.${i}.content.0: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${unexpected.join(', ')}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`,
      );
    }
    const answered = new Set(message.content.filter((b) => b.type === 'tool_result').map((b) => String(b.tool_use_id)));
    const unanswered = [...offered].filter((id) => !answered.has(id));
    if (unanswered.length > 0) {
      throw invalidRequest(
        `messages.${i - 1}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${unanswered.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`,
      );
    }
  });
  return messages;
}

function validateSystem(value: unknown): JsonObject[] {
  if (value === undefined || value === null) return [];
  if (isString(value)) return value === '' ? [] : [{ type: 'text', text: value }];
  if (!Array.isArray(value)) throw wrongType('system', 'a valid string or list', value);
  return value.map((block: unknown, i) => {
    if (!isObject(block) || block.type !== 'text' || !isString(block.text)) throw invalidRequest(`system.${i}: Input should be a text block`);
    return block;
  });
}

function validateTools(value: unknown): { rawTools: JsonObject[]; tools: ToolDefinition[] } {
  if (value === undefined || value === null) return { rawTools: [], tools: [] };
  if (!Array.isArray(value)) throw wrongType('tools', 'a valid list', value);
  const rawTools: JsonObject[] = [];
  const tools: ToolDefinition[] = [];
  value.forEach((tool: unknown, i) => {
    const path = `tools.${i}`;
    if (!isObject(tool)) throw wrongType(path, 'a valid dictionary', tool);
    if (!isString(tool.name)) throw fieldRequired(`${path}.name`);
    const custom = tool.type === undefined || tool.type === null || tool.type === 'custom';
    if (custom) {
      if (!TOOL_NAME.test(tool.name)) throw invalidRequest(`${path}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'`);
      if (!isObject(tool.input_schema)) throw fieldRequired(`${path}.custom.input_schema`);
      tools.push({ name: tool.name, inputSchema: tool.input_schema as JsonSchema });
    }
    rawTools.push(tool);
  });
  return { rawTools, tools };
}

function validateToolChoice(value: unknown, tools: ToolDefinition[], rawTools: JsonObject[]): { mode: ToolMode; parallel: boolean } {
  if (value === undefined || value === null) return { mode: { kind: tools.length > 0 ? 'auto' : 'none' }, parallel: true };
  if (!isObject(value)) throw wrongType('tool_choice', 'a valid dictionary', value);
  const parallel = value.disable_parallel_tool_use !== true;
  switch (value.type) {
    case 'auto':
      return { mode: { kind: 'auto' }, parallel };
    case 'any':
      return { mode: { kind: 'any' }, parallel };
    case 'none':
      return { mode: { kind: 'none' }, parallel };
    case 'tool': {
      if (!isString(value.name)) throw fieldRequired('tool_choice.tool.name');
      const name = value.name;
      if (!rawTools.some((t) => t.name === name)) throw invalidRequest(`tool_choice.name: Tool '${name}' not found in tools`);
      return { mode: { kind: 'named', name }, parallel };
    }
    default:
      throw invalidRequest("tool_choice.type: Input tag found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'");
  }
}

/** Counts breakpoints and checks the documented rules: at most 4, and no 1h entry after a 5m one. */
function checkBreakpoints(request: MessagesRequest): void {
  const ttls: CacheTtl[] = [];
  request.rawTools.forEach((tool, i) => {
    const ttl = cacheTtlOf(tool, `tools.${i}`);
    if (ttl) ttls.push(ttl);
  });
  request.system.forEach((block, i) => {
    const ttl = cacheTtlOf(block, `system.${i}`);
    if (ttl) ttls.push(ttl);
  });
  request.messages.forEach((message, i) =>
    message.content.forEach((block, j) => {
      const ttl = cacheTtlOf(block, `messages.${i}.content.${j}`);
      if (ttl) ttls.push(ttl);
    }),
  );
  const lastBlock = request.messages[request.messages.length - 1]?.content.at(-1);
  if (request.automaticCacheTtl && !(lastBlock && lastBlock.cache_control)) ttls.push(request.automaticCacheTtl);
  if (ttls.length > MAX_BREAKPOINTS) {
    throw invalidRequest(`A maximum of ${MAX_BREAKPOINTS} blocks with cache_control may be provided. Found ${ttls.length}.`);
  }
  const first5m = ttls.indexOf('5m');
  if (first5m !== -1 && ttls.indexOf('1h', first5m) !== -1) {
    throw invalidRequest("cache_control: a block with ttl='1h' cannot come after a block with ttl='5m'; longer-lived breakpoints must come first (tools, then system, then messages).");
  }
}

function validateThinking(body: JsonObject, model: string, maxTokens: number | null): number {
  const thinking = body.thinking;
  if (thinking === undefined || thinking === null) return 0;
  if (!isObject(thinking)) throw wrongType('thinking', 'a valid dictionary', thinking);
  if (thinking.type === 'disabled') return 0;
  if (thinking.type !== 'enabled' && thinking.type !== 'adaptive') {
    throw invalidRequest("thinking.type: Input tag found using 'type' does not match any of the expected tags: 'enabled', 'disabled', 'adaptive'");
  }
  if (!claudeTraits(model).supportsThinking) throw invalidRequest(`'${claudeSnapshot(model)}' does not support thinking.`);
  if (isFiniteNumber(body.temperature) && body.temperature !== 1) {
    throw invalidRequest('`temperature` may only be set to 1 when thinking is enabled. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking');
  }
  if (thinking.type === 'adaptive') return Math.max(1, (maxTokens ?? 2048) - 1);
  if (!isInteger(thinking.budget_tokens)) throw fieldRequired('thinking.enabled.budget_tokens');
  if (thinking.budget_tokens < 1024) throw invalidRequest('thinking.enabled.budget_tokens: Input should be greater than or equal to 1024');
  if (maxTokens !== null && maxTokens <= thinking.budget_tokens) {
    throw invalidRequest(
      '`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size',
    );
  }
  return thinking.budget_tokens;
}

/**
 * Validates a Messages body. `requireMaxTokens` is false for count_tokens, which takes the same
 * body without `max_tokens`.
 */
export function validateMessagesRequest(body: unknown, requireMaxTokens = true): MessagesRequest {
  if (!isObject(body)) throw invalidRequest('Request body must be a JSON object.');
  const model = body.model;
  if (model === undefined) throw fieldRequired('model');
  if (!isString(model)) throw wrongType('model', 'a valid string', model);

  let maxTokens: number | null = null;
  if (body.max_tokens === undefined) {
    if (requireMaxTokens) throw fieldRequired('max_tokens');
  } else {
    if (!isInteger(body.max_tokens)) throw wrongType('max_tokens', 'a valid integer', body.max_tokens);
    if (body.max_tokens < 1) throw invalidRequest('max_tokens: Input should be greater than or equal to 1');
    maxTokens = body.max_tokens;
  }
  const messages = validateMessages(body.messages);
  const system = validateSystem(body.system);
  if (!isClaudeModel(model)) throw new SimError('not_found', `model: ${model}`);
  const traits = claudeTraits(model);
  if (maxTokens !== null && maxTokens > traits.maxOutputTokens) {
    throw invalidRequest(`max_tokens: ${maxTokens} > ${traits.maxOutputTokens}, which is the maximum allowed number of output tokens for ${claudeSnapshot(model)}`);
  }

  for (const param of ['temperature', 'top_p'] as const) {
    const value = body[param];
    if (value === undefined || value === null) continue;
    if (!isFiniteNumber(value)) throw wrongType(param, 'a valid number', value);
    if (value < 0 || value > 1) throw invalidRequest(`${param}: Input should be less than or equal to 1 and greater than or equal to 0`);
  }

  let stopSequences: string[] = [];
  if (body.stop_sequences !== undefined && body.stop_sequences !== null) {
    if (!Array.isArray(body.stop_sequences) || !body.stop_sequences.every(isString)) throw wrongType('stop_sequences', 'a valid list of strings', body.stop_sequences);
    if (body.stop_sequences.some((s) => s.trim() === '')) throw invalidRequest('stop_sequences: each stop sequence must contain non-whitespace');
    stopSequences = body.stop_sequences;
  }

  if (body.metadata !== undefined && body.metadata !== null) {
    if (!isObject(body.metadata)) throw wrongType('metadata', 'a valid dictionary', body.metadata);
    for (const key of Object.keys(body.metadata)) {
      if (key !== 'user_id') throw invalidRequest(`metadata.${key}: Extra inputs are not permitted`);
    }
  }
  if (body.service_tier !== undefined && body.service_tier !== 'auto' && body.service_tier !== 'standard_only') {
    throw invalidRequest("service_tier: Input should be 'auto' or 'standard_only'");
  }

  const { rawTools, tools } = validateTools(body.tools);
  const { mode, parallel } = validateToolChoice(body.tool_choice, tools, rawTools);
  const thinkingBudget = validateThinking(body, model, maxTokens);
  if (thinkingBudget > 0 && (mode.kind === 'any' || mode.kind === 'named')) {
    throw invalidRequest('Thinking may not be enabled when tool_choice forces tool use.');
  }

  let automaticCacheTtl: CacheTtl | null = null;
  if (body.cache_control !== undefined && body.cache_control !== null) automaticCacheTtl = cacheTtlOf(body, '');

  const stream = body.stream === true;
  if (body.stream !== undefined && typeof body.stream !== 'boolean') throw wrongType('stream', 'a valid boolean', body.stream);

  const request: MessagesRequest = {
    model,
    maxTokens: maxTokens ?? traits.maxOutputTokens,
    system,
    messages,
    rawTools,
    tools,
    toolMode: mode,
    parallelToolCalls: parallel,
    stopSequences,
    stream,
    thinkingBudget,
    automaticCacheTtl,
  };
  checkBreakpoints(request);
  return request;
}
