import { z } from 'zod';
import { SluiceError } from '../errors';

/**
 * The canonical request: OpenAI's chat-completions body, the gateway's lingua franca. Known
 * fields are type-checked as OpenAI documents them; unknown fields are kept and carried to
 * OpenAI-compatible upstreams untouched.
 */

const TextPart = z.looseObject({ type: z.literal('text'), text: z.string() });
const ImagePart = z.looseObject({
  type: z.literal('image_url'),
  image_url: z.looseObject({ url: z.string().min(1), detail: z.enum(['auto', 'low', 'high']).optional() }),
});
const AudioPart = z.looseObject({
  type: z.literal('input_audio'),
  input_audio: z.looseObject({ data: z.string(), format: z.string() }),
});
const FilePart = z.looseObject({
  type: z.literal('file'),
  file: z.looseObject({ file_data: z.string().optional(), file_id: z.string().optional(), filename: z.string().optional() }),
});
const RefusalPart = z.looseObject({ type: z.literal('refusal'), refusal: z.string() });
export const ContentPart = z.discriminatedUnion('type', [TextPart, ImagePart, AudioPart, FilePart, RefusalPart]);
export type ContentPart = z.infer<typeof ContentPart>;

const ToolCall = z.looseObject({
  id: z.string(),
  type: z.literal('function'),
  function: z.looseObject({ name: z.string(), arguments: z.string() }),
});
export type ToolCall = z.infer<typeof ToolCall>;

const Content = z.union([z.string(), z.array(ContentPart)]);

const SystemMessage = z.looseObject({ role: z.enum(['system', 'developer']), content: Content, name: z.string().optional() });
const UserMessage = z.looseObject({ role: z.literal('user'), content: Content, name: z.string().optional() });
const AssistantMessage = z.looseObject({
  role: z.literal('assistant'),
  content: Content.nullish(),
  name: z.string().optional(),
  tool_calls: z.array(ToolCall).optional(),
  refusal: z.string().nullish(),
});
const ToolMessage = z.looseObject({ role: z.literal('tool'), content: Content, tool_call_id: z.string().min(1) });
const FunctionMessage = z.looseObject({ role: z.literal('function'), content: z.string().nullable(), name: z.string() });

export const ChatMessage = z.discriminatedUnion('role', [SystemMessage, UserMessage, AssistantMessage, ToolMessage, FunctionMessage]);
export type ChatMessage = z.infer<typeof ChatMessage>;

const FunctionTool = z.looseObject({
  type: z.literal('function'),
  function: z.looseObject({
    name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'tool names are 1-64 letters, digits, underscores or dashes'),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullish(),
  }),
});
export type FunctionTool = z.infer<typeof FunctionTool>;

const ToolChoice = z.union([
  z.enum(['none', 'auto', 'required']),
  z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: z.string() }) }),
  z.looseObject({ type: z.literal('allowed_tools') }),
  z.looseObject({ type: z.literal('custom') }),
]);

const ResponseFormat = z.union([
  z.looseObject({ type: z.literal('text') }),
  z.looseObject({ type: z.literal('json_object') }),
  z.looseObject({
    type: z.literal('json_schema'),
    json_schema: z.looseObject({ name: z.string(), schema: z.record(z.string(), z.unknown()).optional(), strict: z.boolean().nullish() }),
  }),
]);

export const ChatRequest = z.looseObject({
  model: z.string().min(1, 'model must name a model'),
  messages: z.array(ChatMessage).min(1, 'messages must contain at least one message'),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  n: z.number().int().min(1).max(128).nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  logit_bias: z.record(z.string(), z.number()).nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  seed: z.number().int().nullish(),
  user: z.string().nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  tools: z.array(FunctionTool).nullish(),
  tool_choice: ToolChoice.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  response_format: ResponseFormat.nullish(),
  service_tier: z.enum(['auto', 'default', 'flex', 'priority', 'scale']).nullish(),
  reasoning_effort: z.enum(['none', 'minimal', 'low', 'medium', 'high', 'xhigh']).nullish(),
});
export type ChatRequest = z.infer<typeof ChatRequest>;

/** The text of a message's content, parts joined; non-text parts contribute nothing. */
export function contentText(content: ChatMessage['content'] | undefined): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  let text = '';
  for (const part of content) {
    if (part.type === 'text') text += (text ? '\n' : '') + part.text;
  }
  return text;
}

/** Tool-call arguments (a JSON string) as the object upstreams other than OpenAI take. */
export function parseToolArguments(raw: string, param: string): unknown {
  if (raw.trim() === '') return {};
  try {
    return JSON.parse(raw);
  } catch {
    throw new SluiceError('invalid_request', 'tool call arguments must be a JSON object', { param });
  }
}

/** For upstreams without a JSON mode: response_format said as an instruction in the system prompt. */
export function jsonInstruction(request: ChatRequest): string | undefined {
  const format = request.response_format;
  if (!format || format.type === 'text') return undefined;
  if (format.type === 'json_object') return 'Respond with a single valid JSON object and nothing else.';
  const schema = (format as { json_schema: { schema?: unknown } }).json_schema.schema;
  return `Respond with a single valid JSON value that conforms to this JSON Schema, and nothing else:\n${JSON.stringify(schema ?? {})}`;
}

/** OpenAI's non-streaming answer, as it travels through the gateway (unknown fields kept). */
export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    message: { role: 'assistant'; content: string | null; tool_calls?: ToolCall[]; refusal?: string | null; [k: string]: unknown };
    finish_reason: string | null;
    logprobs?: unknown;
    [k: string]: unknown;
  }>;
  usage?: OpenAIUsage;
  service_tier?: string | null;
  system_fingerprint?: string | null;
  [k: string]: unknown;
}

export interface OpenAIUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number; audio_tokens?: number; [k: string]: unknown } | null;
  completion_tokens_details?: { reasoning_tokens?: number; [k: string]: unknown } | null;
  [k: string]: unknown;
}

/** One `chat.completion.chunk` of an OpenAI stream. */
export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    delta: {
      role?: 'assistant';
      content?: string | null;
      tool_calls?: Array<{ index: number; id?: string; type?: 'function'; function?: { name?: string; arguments?: string } }>;
      refusal?: string | null;
      [k: string]: unknown;
    };
    finish_reason: string | null;
    logprobs?: unknown;
    [k: string]: unknown;
  }>;
  usage?: OpenAIUsage | null;
  service_tier?: string | null;
  system_fingerprint?: string | null;
  [k: string]: unknown;
}
