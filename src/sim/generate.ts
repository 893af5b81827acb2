/**
 * Deterministic "model": everything a response contains is derived from a seed (a hash of the
 * prompt), so identical requests get identical answers and tests can predict usage exactly.
 * Protocol modules translate their request into a GenerationInput and the Generation back into
 * their wire format.
 */

import { Rng, hash53, randomChars } from './hash';
import { isObject, isString, type JsonObject } from './json';
import { countTokens, truncateToTokens } from './tokenizer';

/** Words of at most 8 letters, so each one is exactly one token under the sim's tokenizer. */
const VOCABULARY = [
  'the', 'model', 'answer', 'simple', 'request', 'token', 'stream', 'cache', 'prompt', 'value',
  'result', 'system', 'message', 'gateway', 'budget', 'report', 'signal', 'route', 'tier', 'batch',
  'quick', 'steady', 'bright', 'calm', 'clear', 'direct', 'early', 'final', 'gentle', 'honest',
  'river', 'harbor', 'meadow', 'forest', 'canyon', 'island', 'valley', 'summit', 'lantern', 'compass',
  'builds', 'checks', 'carries', 'returns', 'follows', 'measures', 'records', 'counts', 'shapes', 'keeps',
  'and', 'with', 'from', 'into', 'over', 'under', 'before', 'after', 'while', 'because',
  'every', 'each', 'some', 'many', 'few', 'several', 'this', 'that', 'these', 'those',
  'data', 'policy', 'ledger', 'price', 'family', 'request', 'window', 'number', 'pattern', 'detail',
  'slowly', 'exactly', 'often', 'rarely', 'always', 'gladly', 'plainly', 'softly', 'boldly', 'warmly',
  'north', 'silver', 'amber', 'cobalt', 'crimson', 'ivory', 'jade', 'copper', 'violet', 'scarlet',
] as const;

/** Inclusive range of answer lengths, in tokens. */
export interface LengthRange {
  min: number;
  max: number;
}

export type JsonSchema = JsonObject;

export interface ToolDefinition {
  name: string;
  inputSchema: JsonSchema | undefined;
}

export type ToolMode =
  | { kind: 'auto' }
  | { kind: 'none' }
  | { kind: 'any' }
  | { kind: 'named'; name: string };

export type OutputFormat = { kind: 'text' } | { kind: 'json_object' } | { kind: 'json_schema'; schema: JsonSchema };

export interface GenerationInput {
  seed: number;
  /** Tokens available for thinking + text + tool calls. */
  maxTokens: number;
  lengthRange: LengthRange;
  stopSequences: readonly string[];
  tools: readonly ToolDefinition[];
  toolMode: ToolMode;
  parallelToolCalls: boolean;
  /** Text of the final user turn: in `auto` mode a tool is called when this names it. */
  finalUserText: string;
  format: OutputFormat;
  /** Visible thinking budget (Anthropic extended thinking); 0 = none. */
  thinkingBudget: number;
  /** Claude-style: a short sentence before tool calls chosen in `auto` mode. */
  textBeforeToolCalls: boolean;
}

export interface GeneratedToolCall {
  /** 24 base62 characters; protocols add their own prefix (`call_`, `toolu_01`, `tooluse_`). */
  idSuffix: string;
  name: string;
  /** Arguments as JSON text (possibly cut short when the token budget ran out). */
  argumentsJson: string;
  /** Parsed arguments; `{}` when `argumentsJson` was cut short. */
  input: unknown;
  tokens: number;
}

export interface GeneratedThinking {
  text: string;
  tokens: number;
  signature: string;
}

export type FinishReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use';

export interface Generation {
  thinking: GeneratedThinking | null;
  text: string;
  toolCalls: GeneratedToolCall[];
  finish: FinishReason;
  stopSequence: string | null;
  /** thinking + text + tool-call tokens. */
  outputTokens: number;
}

/** Prose of exactly `tokens` tokens: sentences of vocabulary words, commas and full stops. */
export function generateProse(rng: Rng, tokens: number): string {
  let text = '';
  let count = 0;
  while (count < tokens) {
    const sentenceWords = rng.between(5, 14);
    for (let w = 0; w < sentenceWords && count < tokens; w++) {
      let word: string = rng.pick(VOCABULARY);
      if (w === 0) word = word.charAt(0).toUpperCase() + word.slice(1);
      text += text.length === 0 ? word : ' ' + word;
      count++;
      if (w < sentenceWords - 1 && count < tokens && rng.below(8) === 0) {
        text += ',';
        count++;
      }
    }
    if (count < tokens) {
      text += '.';
      count++;
    }
  }
  return text;
}

/** One vocabulary word (one token). */
export function pickWord(rng: Rng): string {
  return rng.pick(VOCABULARY);
}

function words(rng: Rng, count: number): string {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(rng.pick(VOCABULARY));
  return out.join(' ');
}

/** A value that validates against `schema` (the common JSON-schema subset tools and structured outputs use). */
export function instanceOfSchema(schema: unknown, rng: Rng, root: unknown = schema, depth = 0): unknown {
  if (!isObject(schema) || depth > 8) return words(rng, 2);
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return rng.pick(schema.enum as unknown[]);
  if (isString(schema.$ref)) return instanceOfSchema(resolveRef(schema.$ref, root), rng, root, depth + 1);
  for (const key of ['anyOf', 'oneOf'] as const) {
    const options = schema[key];
    if (Array.isArray(options) && options.length > 0) {
      const nonNull = options.filter((o) => !(isObject(o) && o.type === 'null'));
      return instanceOfSchema(nonNull[0] ?? options[0], rng, root, depth + 1);
    }
  }
  if (Array.isArray(schema.allOf) && schema.allOf.length > 0) {
    return instanceOfSchema(mergeAllOf(schema.allOf as unknown[]), rng, root, depth + 1);
  }
  const type = Array.isArray(schema.type) ? (schema.type as unknown[]).find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'object':
      return objectInstance(schema, rng, root, depth);
    case 'array': {
      const min = typeof schema.minItems === 'number' ? schema.minItems : 1;
      const max = typeof schema.maxItems === 'number' ? schema.maxItems : min + 1;
      const count = rng.between(min, Math.max(min, Math.min(max, min + 2)));
      return Array.from({ length: count }, () => instanceOfSchema(schema.items, rng, root, depth + 1));
    }
    case 'integer':
    case 'number': {
      const min = typeof schema.minimum === 'number' ? Math.ceil(schema.minimum) : 0;
      const max = typeof schema.maximum === 'number' ? Math.floor(schema.maximum) : min + 100;
      // Numbers get a fractional part when the range leaves room for one.
      if (type === 'number' && max > min) return rng.between(min, max - 1) + 0.5;
      return rng.between(min, Math.max(min, max));
    }
    case 'boolean':
      return rng.below(2) === 0;
    case 'null':
      return null;
    case 'string':
      return stringInstance(schema, rng);
    default:
      return isObject(schema.properties) ? objectInstance(schema, rng, root, depth) : words(rng, 2);
  }
}

function objectInstance(schema: JsonObject, rng: Rng, root: unknown, depth: number): JsonObject {
  const out: JsonObject = {};
  if (isObject(schema.properties)) {
    for (const [key, propertySchema] of Object.entries(schema.properties)) {
      out[key] = instanceOfSchema(propertySchema, rng, root, depth + 1);
    }
  }
  return out;
}

function stringInstance(schema: JsonObject, rng: Rng): string {
  switch (schema.format) {
    case 'date-time':
      return new Date(Date.UTC(2025, rng.below(12), 1 + rng.below(28), rng.below(24), rng.below(60))).toISOString();
    case 'date':
      return new Date(Date.UTC(2025, rng.below(12), 1 + rng.below(28))).toISOString().slice(0, 10);
    case 'email':
      return `${rng.pick(VOCABULARY)}@example.com`;
    case 'uri':
    case 'url':
      return `https://example.com/${rng.pick(VOCABULARY)}`;
    case 'uuid': {
      const hex = randomChars(rng, 32, 'hex');
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
    }
  }
  let value = words(rng, rng.between(1, 4));
  const minLength = typeof schema.minLength === 'number' ? schema.minLength : 0;
  const maxLength = typeof schema.maxLength === 'number' ? schema.maxLength : Infinity;
  while (value.length < minLength) value += ' ' + rng.pick(VOCABULARY);
  return value.slice(0, maxLength);
}

function resolveRef(ref: string, root: unknown): unknown {
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = root;
  for (const part of ref.slice(2).split('/')) {
    if (!isObject(node)) return undefined;
    node = node[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return node;
}

function mergeAllOf(parts: unknown[]): JsonObject {
  const merged: JsonObject = { type: 'object', properties: {} };
  for (const part of parts) {
    if (isObject(part) && isObject(part.properties)) Object.assign(merged.properties as JsonObject, part.properties);
  }
  return merged;
}

function chooseTools(input: GenerationInput): ToolDefinition[] {
  const { tools, toolMode } = input;
  if (tools.length === 0 || toolMode.kind === 'none') return [];
  let chosen: ToolDefinition[];
  if (toolMode.kind === 'named') {
    chosen = tools.filter((t) => t.name === toolMode.name);
  } else {
    const text = input.finalUserText.toLowerCase();
    chosen = text.length === 0 ? [] : tools.filter((t) => text.includes(t.name.toLowerCase()));
    if (chosen.length === 0 && toolMode.kind === 'any') chosen = tools.slice(0, 1);
  }
  return input.parallelToolCalls ? chosen : chosen.slice(0, 1);
}

/** The earliest occurrence of any stop sequence in `text`. */
function findStop(text: string, stops: readonly string[]): { index: number; sequence: string } | null {
  let best: { index: number; sequence: string } | null = null;
  for (const sequence of stops) {
    if (sequence.length === 0) continue;
    const index = text.indexOf(sequence);
    if (index !== -1 && (best === null || index < best.index)) best = { index, sequence };
  }
  return best;
}

function jsonObjectAnswer(rng: Rng, targetTokens: number): string {
  // `{"answer":"…"}` costs 8 tokens around the prose.
  return JSON.stringify({ answer: generateProse(rng, Math.max(1, targetTokens - 8)) });
}

export function generate(input: GenerationInput): Generation {
  const rng = new Rng(input.seed);
  const naturalLength = rng.between(input.lengthRange.min, input.lengthRange.max);
  let thinking: GeneratedThinking | null = null;
  if (input.thinkingBudget > 0) {
    const tokens = Math.min(input.thinkingBudget, naturalLength, Math.max(0, input.maxTokens - 1));
    thinking = { text: generateProse(new Rng(hash53('thinking', input.seed)), tokens), tokens, signature: thinkingSignature(input.seed) };
  }
  const thinkingTokens = thinking?.tokens ?? 0;
  const budget = input.maxTokens - thinkingTokens;
  const tools = chooseTools(input);
  const turn = tools.length > 0 ? toolTurn(input, tools, rng, budget) : textTurn(input, rng, naturalLength, budget);
  return { ...turn, thinking, outputTokens: thinkingTokens + turn.outputTokens };
}

type Turn = Omit<Generation, 'thinking'>;

/** Calls the chosen tools (after a short sentence, Claude-style, when it chose them itself). */
function toolTurn(input: GenerationInput, tools: ToolDefinition[], rng: Rng, budget: number): Turn {
  let remaining = budget;
  let text = '';
  let textTokens = 0;
  if (input.textBeforeToolCalls && input.toolMode.kind === 'auto') {
    textTokens = Math.min(remaining, rng.between(4, 9));
    text = generateProse(rng, textTokens);
    remaining -= textTokens;
  }
  const toolCalls: GeneratedToolCall[] = [];
  let truncated = false;
  for (const tool of tools) {
    const argumentsJson = JSON.stringify(instanceOfSchema(tool.inputSchema ?? { type: 'object' }, rng) ?? {});
    const nameTokens = countTokens(tool.name);
    const argumentTokens = countTokens(argumentsJson);
    const idSuffix = randomChars(rng, 24);
    if (nameTokens + argumentTokens > remaining) {
      // Out of budget mid-call: the call is cut off like a real truncated generation.
      truncated = true;
      if (remaining >= nameTokens) {
        const kept = truncateToTokens(argumentsJson, remaining - nameTokens);
        toolCalls.push({ idSuffix, name: tool.name, argumentsJson: kept, input: {}, tokens: nameTokens + countTokens(kept) });
      }
      break;
    }
    toolCalls.push({ idSuffix, name: tool.name, argumentsJson, input: JSON.parse(argumentsJson) as unknown, tokens: nameTokens + argumentTokens });
    remaining -= nameTokens + argumentTokens;
  }
  return {
    text,
    toolCalls,
    finish: truncated ? 'max_tokens' : 'tool_use',
    stopSequence: null,
    outputTokens: textTokens + toolCalls.reduce((sum, call) => sum + call.tokens, 0),
  };
}

/** Prose or JSON, cut at the first stop sequence, then at the token budget. */
function textTurn(input: GenerationInput, rng: Rng, naturalLength: number, budget: number): Turn {
  let text: string;
  switch (input.format.kind) {
    case 'text':
      text = generateProse(rng, naturalLength);
      break;
    case 'json_object':
      text = jsonObjectAnswer(rng, naturalLength);
      break;
    case 'json_schema':
      text = JSON.stringify(instanceOfSchema(input.format.schema, rng));
      break;
  }
  let finish: FinishReason = 'end_turn';
  let stopSequence: string | null = null;
  const stop = findStop(text, input.stopSequences);
  if (stop) {
    text = text.slice(0, stop.index);
    finish = 'stop_sequence';
    stopSequence = stop.sequence;
  }
  let tokens = countTokens(text);
  if (tokens > budget) {
    text = truncateToTokens(text, budget);
    tokens = countTokens(text);
    finish = 'max_tokens';
    stopSequence = null;
  }
  return { text, toolCalls: [], finish, stopSequence, outputTokens: tokens };
}

/** Opaque base64 signature for a thinking block, derived from the seed. */
function thinkingSignature(seed: number): string {
  const rng = new Rng(hash53('signature', seed));
  const bytes = Buffer.alloc(48);
  for (let i = 0; i < bytes.length; i++) bytes[i] = rng.below(256);
  return bytes.toString('base64');
}
