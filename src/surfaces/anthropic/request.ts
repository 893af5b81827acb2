import { z } from 'zod';
import type { ChatMessage, ChatRequest, ContentPart, FunctionTool, ToolCall } from '../../gateway/chat';
import type { CacheBreakpoint, ChatExtras, ThinkingEffort } from '../../gateway/extras';

/**
 * The Anthropic Messages request as the front door accepts it, and its translation to the
 * canonical request for upstreams that do not speak it. Known fields are checked the way
 * Anthropic documents them; unknown fields and block types pass validation, go through untouched
 * on a pass-through, and are named as untranslatable otherwise.
 */

const CacheControl = z.looseObject({ type: z.literal('ephemeral'), ttl: z.enum(['5m', '1h']).optional() }).nullish();

const Base64Source = z.looseObject({ type: z.literal('base64'), media_type: z.string().min(1), data: z.string() });
const UrlSource = z.looseObject({ type: z.literal('url'), url: z.string().min(1) });
const TextSource = z.looseObject({ type: z.literal('text'), media_type: z.string().optional(), data: z.string() });
const FileSource = z.looseObject({ type: z.literal('file'), file_id: z.string().min(1) });
const ContentSource = z.looseObject({ type: z.literal('content'), content: z.union([z.string(), z.array(z.looseObject({ type: z.string() }))]) });

const TextBlock = z.looseObject({ type: z.literal('text'), text: z.string(), cache_control: CacheControl });
const ImageBlock = z.looseObject({ type: z.literal('image'), source: z.discriminatedUnion('type', [Base64Source, UrlSource, FileSource]), cache_control: CacheControl });
const DocumentBlock = z.looseObject({
  type: z.literal('document'),
  source: z.discriminatedUnion('type', [Base64Source, UrlSource, TextSource, FileSource, ContentSource]),
  title: z.string().nullish(),
  context: z.string().nullish(),
  cache_control: CacheControl,
});
const SearchResultBlock = z.looseObject({
  type: z.literal('search_result'),
  source: z.string(),
  title: z.string(),
  content: z.array(TextBlock),
  cache_control: CacheControl,
});
const ToolUseBlock = z.looseObject({ type: z.literal('tool_use'), id: z.string().min(1), name: z.string().min(1), input: z.record(z.string(), z.unknown()), cache_control: CacheControl });
const ToolResultBlock = z.looseObject({
  type: z.literal('tool_result'),
  tool_use_id: z.string().min(1),
  content: z.union([z.string(), z.array(z.looseObject({ type: z.string() }))]).optional(),
  is_error: z.boolean().optional(),
  cache_control: CacheControl,
});
const ThinkingBlock = z.looseObject({ type: z.literal('thinking'), thinking: z.string(), signature: z.string() });
const RedactedThinkingBlock = z.looseObject({ type: z.literal('redacted_thinking'), data: z.string() });

/** The block types Sluice checks field by field; any other type is carried as it is. */
const KNOWN_BLOCKS: Record<string, z.ZodType> = {
  text: TextBlock,
  image: ImageBlock,
  document: DocumentBlock,
  search_result: SearchResultBlock,
  tool_use: ToolUseBlock,
  tool_result: ToolResultBlock,
  thinking: ThinkingBlock,
  redacted_thinking: RedactedThinkingBlock,
};

const Block = z.looseObject({ type: z.string().min(1) }).superRefine((block, ctx) => {
  const schema = KNOWN_BLOCKS[block.type];
  if (!schema) return;
  const checked = schema.safeParse(block);
  if (checked.success) return;
  for (const issue of checked.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
});
type Block = z.infer<typeof Block>;

const Message = z.looseObject({
  role: z.enum(['user', 'assistant', 'system']),
  content: z.union([z.string(), z.array(Block)]),
});

const CustomTool = z.looseObject({
  name: z.string().regex(/^[a-zA-Z0-9_-]{1,128}$/, 'tool names are 1-128 letters, digits, underscores or dashes'),
  description: z.string().optional(),
  input_schema: z.looseObject({ type: z.literal('object') }),
  strict: z.boolean().optional(),
  cache_control: CacheControl,
});
/** A custom tool has no type (or "custom"); server tools (web search, bash, ...) name a versioned type. */
const Tool = z.looseObject({ type: z.string().nullish(), name: z.string().min(1) }).superRefine((tool, ctx) => {
  if (tool.type != null && tool.type !== 'custom') return;
  const checked = CustomTool.safeParse(tool);
  if (checked.success) return;
  for (const issue of checked.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
});

const ToolChoice = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('auto'), disable_parallel_tool_use: z.boolean().optional() }),
  z.looseObject({ type: z.literal('any'), disable_parallel_tool_use: z.boolean().optional() }),
  z.looseObject({ type: z.literal('tool'), name: z.string().min(1), disable_parallel_tool_use: z.boolean().optional() }),
  z.looseObject({ type: z.literal('none') }),
]);

const Thinking = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('enabled'), budget_tokens: z.number().int().min(1024, 'budget_tokens must be at least 1024') }),
  z.looseObject({ type: z.literal('disabled') }),
  z.looseObject({ type: z.literal('adaptive') }),
  z.looseObject({ type: z.literal('between_tools') }),
]);

const OutputConfig = z.looseObject({
  effort: z.enum(['low', 'medium', 'high', 'xhigh', 'max']).nullish(),
  format: z.looseObject({ type: z.literal('json_schema'), schema: z.record(z.string(), z.unknown()) }).nullish(),
});

const countTokensShape = {
  model: z.string().min(1, 'model must name a model'),
  messages: z.array(Message).min(1, 'messages: at least one message is required'),
  system: z.union([z.string(), z.array(TextBlock)]).optional(),
  tools: z.array(Tool).optional(),
  tool_choice: ToolChoice.optional(),
  thinking: Thinking.optional(),
  output_config: OutputConfig.optional(),
  cache_control: CacheControl,
};

/** `POST /v1/messages/count_tokens`. */
export const CountTokensRequest = z.looseObject(countTokensShape);
export type CountTokensRequest = z.infer<typeof CountTokensRequest>;

/** `POST /v1/messages`. */
export const MessagesRequest = z.looseObject({
  ...countTokensShape,
  max_tokens: z.number().int().min(1, 'max_tokens must be at least 1'),
  stream: z.boolean().optional(),
  temperature: z.number().min(0).max(1).optional(),
  top_p: z.number().min(0).max(1).optional(),
  top_k: z.number().int().min(0).optional(),
  stop_sequences: z.array(z.string()).optional(),
  metadata: z.looseObject({ user_id: z.string().max(256).nullish() }).optional(),
  service_tier: z.enum(['auto', 'standard_only']).optional(),
});
export type MessagesRequest = z.infer<typeof MessagesRequest>;

/** Top-level fields the translation reads, and those that only tune Anthropic's own service. */
const TRANSLATED_FIELDS = new Set([
  ...Object.keys(countTokensShape),
  'max_tokens', 'stream', 'temperature', 'top_p', 'top_k', 'stop_sequences', 'metadata',
  'service_tier', 'speed', 'inference_geo', 'diagnostics', 'user_profile_id', 'workspace_id',
]);

export interface Translation {
  request: ChatRequest;
  extras: ChatExtras;
  /** What the canonical request cannot carry, named for the caller. */
  untranslatable: string[];
}

function dataUrl(mediaType: string, base64: string): string {
  return `data:${mediaType};base64,${base64}`;
}

function utf8Base64(text: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

type AnyBlock = Record<string, unknown>;

function ttlOf(block: AnyBlock): CacheBreakpoint['ttl'] {
  const control = block.cache_control as { ttl?: '5m' | '1h' } | null | undefined;
  return control?.ttl;
}

function textOf(blocks: readonly AnyBlock[]): string {
  return blocks.flatMap((b) => (b.type === 'text' && typeof b.text === 'string' ? [b.text] : [])).join('\n');
}

/** Builds canonical messages, recording breakpoints and what cannot be carried. */
class Translator {
  readonly messages: ChatMessage[] = [];
  readonly breakpoints: CacheBreakpoint[] = [];
  readonly untranslatable: string[] = [];

  private mark(block: AnyBlock, message: number, part?: number): void {
    if (block.cache_control == null) return;
    const ttl = ttlOf(block);
    this.breakpoints.push({ message, ...(part === undefined ? {} : { part }), ...(ttl ? { ttl } : {}) });
  }

  private refuse(path: string, what: string): void {
    this.untranslatable.push(`${path} (${what})`);
  }

  system(system: string | Array<z.infer<typeof TextBlock>>): void {
    if (typeof system === 'string') {
      if (system !== '') this.messages.push({ role: 'system', content: system });
      return;
    }
    if (system.length === 0) return;
    const index = this.messages.length;
    system.forEach((block, j) => this.mark(block, index, j));
    this.messages.push({ role: 'system', content: system.map((block) => ({ type: 'text', text: block.text })) });
  }

  /** A user-side block as a canonical content part, or undefined when it has none. */
  private part(block: Block, path: string): ContentPart | undefined {
    switch (block.type) {
      case 'text':
        return { type: 'text', text: (block as z.infer<typeof TextBlock>).text };
      case 'image': {
        const source = (block as z.infer<typeof ImageBlock>).source;
        if (source.type === 'base64') return { type: 'image_url', image_url: { url: dataUrl(source.media_type, source.data) } };
        if (source.type === 'url') return { type: 'image_url', image_url: { url: source.url } };
        this.refuse(path, 'an image from the Files API');
        return undefined;
      }
      case 'document': {
        const document = block as z.infer<typeof DocumentBlock>;
        const { source } = document;
        const filename = document.title ?? undefined;
        if (source.type === 'base64') return { type: 'file', file: { file_data: dataUrl(source.media_type, source.data), ...(filename ? { filename } : {}) } };
        if (source.type === 'text') return { type: 'file', file: { file_data: dataUrl('text/plain', utf8Base64(source.data)), ...(filename ? { filename } : {}) } };
        if (source.type === 'content') {
          const text = typeof source.content === 'string' ? source.content : textOf(source.content);
          return { type: 'text', text };
        }
        this.refuse(path, source.type === 'url' ? 'a document by URL' : 'a document from the Files API');
        return undefined;
      }
      case 'search_result': {
        const result = block as z.infer<typeof SearchResultBlock>;
        return { type: 'text', text: `${result.title}\n${result.source}\n${textOf(result.content)}` };
      }
      default:
        this.refuse(path, `a ${block.type} block`);
        return undefined;
    }
  }

  private toolResult(block: z.infer<typeof ToolResultBlock>, path: string): void {
    let content = '';
    if (typeof block.content === 'string') content = block.content;
    else if (block.content) {
      for (const [k, inner] of block.content.entries()) {
        if (inner.type !== 'text') this.refuse(`${path}.content[${k}]`, `a ${inner.type} block in a tool result`);
      }
      content = textOf(block.content);
    }
    this.mark(block, this.messages.length);
    this.messages.push({ role: 'tool', tool_call_id: block.tool_use_id, content });
  }

  user(content: Block[], path: string): void {
    const parts: ContentPart[] = [];
    const marks: Array<{ block: Block; part: number }> = [];
    content.forEach((block, j) => {
      const blockPath = `${path}[${j}]`;
      // Anthropic puts tool results first in the user turn; OpenAI wants them as tool messages right after the calls.
      if (block.type === 'tool_result') return this.toolResult(block as z.infer<typeof ToolResultBlock>, blockPath);
      const part = this.part(block, blockPath);
      if (!part) return;
      marks.push({ block, part: parts.length });
      parts.push(part);
    });
    if (parts.length === 0) return;
    const index = this.messages.length;
    for (const { block, part } of marks) this.mark(block, index, part);
    this.messages.push({ role: 'user', content: parts });
  }

  assistant(content: Block[], path: string): void {
    const parts: ContentPart[] = [];
    const toolCalls: ToolCall[] = [];
    const index = this.messages.length;
    content.forEach((block, j) => {
      const blockPath = `${path}[${j}]`;
      switch (block.type) {
        case 'text':
          this.mark(block, index, parts.length);
          parts.push({ type: 'text', text: (block as z.infer<typeof TextBlock>).text });
          break;
        case 'tool_use': {
          const use = block as z.infer<typeof ToolUseBlock>;
          this.mark(block, index);
          toolCalls.push({ id: use.id, type: 'function', function: { name: use.name, arguments: JSON.stringify(use.input) } });
          break;
        }
        case 'thinking':
        case 'redacted_thinking':
          // Earlier turns' thinking is context only the model that wrote it can read (it is signed); others answer without it.
          break;
        default:
          this.refuse(blockPath, `a ${block.type} block`);
      }
    });
    if (parts.length === 0 && toolCalls.length === 0) return;
    this.messages.push({
      role: 'assistant',
      content: parts.length === 0 ? null : parts,
      ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
    });
  }
}

function toolChoice(choice: z.infer<typeof ToolChoice>): ChatRequest['tool_choice'] {
  switch (choice.type) {
    case 'auto':
      return 'auto';
    case 'any':
      return 'required';
    case 'none':
      return 'none';
    case 'tool':
      return { type: 'function', function: { name: choice.name } };
  }
}

function thinkingExtras(body: CountTokensRequest): ChatExtras['thinking'] {
  const effort = body.output_config?.effort;
  const level: ThinkingEffort | undefined = effort == null ? undefined : effort === 'low' || effort === 'medium' ? effort : 'high';
  const thinking = body.thinking;
  if (thinking?.type === 'enabled') return { budgetTokens: thinking.budget_tokens, ...(level ? { effort: level } : {}) };
  if (thinking?.type === 'adaptive') return { effort: level ?? 'medium' };
  return undefined;
}

/**
 * Translates a Messages body (or a count_tokens body, which has no max_tokens) to the canonical
 * request. Never throws: what cannot be carried is listed, and refused only if the request is
 * not passed through to an Anthropic upstream.
 */
export function toCanonical(body: CountTokensRequest & Partial<MessagesRequest>): Translation {
  const translator = new Translator();
  if (body.system !== undefined) translator.system(body.system);
  body.messages.forEach((message, i) => {
    const path = `messages[${i}].content`;
    if (typeof message.content === 'string') {
      translator.messages.push({ role: message.role, content: message.content });
      return;
    }
    if (message.role === 'assistant') translator.assistant(message.content, path);
    else if (message.role === 'user') translator.user(message.content, path);
    else translator.system(message.content.filter((b): b is z.infer<typeof TextBlock> => b.type === 'text'));
  });

  const tools: FunctionTool[] = [];
  (body.tools ?? []).forEach((tool, k) => {
    if (tool.type != null && tool.type !== 'custom') {
      translator.untranslatable.push(`tools[${k}] (the server tool ${tool.type})`);
      return;
    }
    const custom = tool as z.infer<typeof CustomTool>;
    if (custom.cache_control != null) {
      const ttl = ttlOf(custom);
      translator.breakpoints.push({ tools: true, ...(ttl ? { ttl } : {}) });
    }
    tools.push({
      type: 'function',
      function: {
        name: custom.name,
        ...(custom.description ? { description: custom.description } : {}),
        parameters: custom.input_schema,
        ...(custom.strict !== undefined ? { strict: custom.strict } : {}),
      },
    });
  });

  // Top-level cache_control asks Anthropic to place the breakpoint itself: on the last block.
  if (body.cache_control != null && translator.messages.length > 0) {
    const ttl = ttlOf(body);
    translator.breakpoints.push({ message: translator.messages.length - 1, ...(ttl ? { ttl } : {}) });
  }
  for (const name of Object.keys(body)) {
    if (!TRANSLATED_FIELDS.has(name)) translator.untranslatable.push(`the "${name}" parameter`);
  }

  const request: ChatRequest = { model: body.model, messages: translator.messages };
  if (body.max_tokens !== undefined) request.max_completion_tokens = body.max_tokens;
  if (body.stream) request.stream = true;
  if (body.temperature !== undefined) request.temperature = body.temperature;
  if (body.top_p !== undefined) request.top_p = body.top_p;
  if (body.stop_sequences?.length) request.stop = body.stop_sequences;
  if (body.metadata?.user_id) request.user = body.metadata.user_id;
  if (tools.length > 0) {
    request.tools = tools;
    if (body.tool_choice) request.tool_choice = toolChoice(body.tool_choice);
    if (body.tool_choice && 'disable_parallel_tool_use' in body.tool_choice && body.tool_choice.disable_parallel_tool_use) {
      request.parallel_tool_calls = false;
    }
  }
  const format = body.output_config?.format;
  if (format) request.response_format = { type: 'json_schema', json_schema: { name: 'output', schema: format.schema, strict: true } };

  const extras: ChatExtras = {};
  if (body.top_k !== undefined) extras.topK = body.top_k;
  const thinking = thinkingExtras(body);
  if (thinking) extras.thinking = thinking;
  if (translator.breakpoints.length > 0) extras.cacheBreakpoints = translator.breakpoints;
  return { request, extras, untranslatable: translator.untranslatable };
}
