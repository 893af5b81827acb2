import { z } from 'zod';
import type { ChatMessage, ChatRequest, ContentPart, FunctionTool, ToolCall } from '../../gateway/chat';
import type { CacheBreakpoint, ChatExtras, ThinkingEffort } from '../../gateway/extras';

/**
 * The Bedrock Converse request as the front door accepts it (ConverseStream's is the same), and
 * its translation to the canonical request for upstreams that do not speak Converse. Content
 * blocks are unions with exactly one member; the members Sluice translates are checked, the rest
 * are carried as they are on a pass-through and named as untranslatable otherwise.
 */

const CachePoint = z.looseObject({ type: z.literal('default'), ttl: z.enum(['5m', '1h']).optional() });
const BytesOrS3 = z.union([
  z.looseObject({ bytes: z.string().min(1, 'bytes must be base64 data') }),
  z.looseObject({ s3Location: z.looseObject({ uri: z.string().min(1) }) }),
]);
const Image = z.looseObject({ format: z.enum(['png', 'jpeg', 'gif', 'webp']), source: BytesOrS3 });
const Document = z.looseObject({
  format: z.string().optional(),
  name: z.string().min(1),
  source: z.union([
    BytesOrS3,
    z.looseObject({ text: z.string() }),
    z.looseObject({ content: z.array(z.looseObject({ text: z.string() })) }),
  ]),
});
const ToolUse = z.looseObject({ toolUseId: z.string().min(1), name: z.string().min(1), input: z.unknown() });
const ToolResult = z.looseObject({
  toolUseId: z.string().min(1),
  content: z.array(z.looseObject({})),
  status: z.enum(['success', 'error']).optional(),
});

/** The members Sluice checks field by field. */
const KNOWN_MEMBERS: Record<string, z.ZodType> = {
  text: z.string(),
  image: Image,
  document: Document,
  toolUse: ToolUse,
  toolResult: ToolResult,
  cachePoint: CachePoint,
};

/** A union-shaped block: exactly one member, checked when Sluice knows it. */
const Block = z.record(z.string(), z.unknown()).superRefine((block, ctx) => {
  const members = Object.keys(block);
  if (members.length !== 1) {
    ctx.addIssue({ code: 'custom', message: `a content block must have exactly one member, got ${members.length ? members.join(', ') : 'none'}` });
    return;
  }
  const member = members[0]!;
  const schema = KNOWN_MEMBERS[member];
  if (!schema) return;
  const checked = schema.safeParse(block[member]);
  if (checked.success) return;
  for (const issue of checked.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: [member, ...issue.path] });
});
type Block = z.infer<typeof Block>;

const Message = z.looseObject({
  role: z.enum(['user', 'assistant']),
  content: z.array(Block).min(1, 'a message needs at least one content block'),
});

const ToolSpec = z.looseObject({
  name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'tool names are 1-64 letters, digits, underscores or dashes'),
  description: z.string().optional(),
  inputSchema: z.looseObject({ json: z.record(z.string(), z.unknown()) }),
  strict: z.boolean().optional(),
});
const ToolEntry = z.union([z.looseObject({ toolSpec: ToolSpec }), z.looseObject({ cachePoint: CachePoint }), z.looseObject({ systemTool: z.looseObject({ name: z.string() }) })]);
const ToolChoice = z.union([
  z.looseObject({ auto: z.looseObject({}) }),
  z.looseObject({ any: z.looseObject({}) }),
  z.looseObject({ tool: z.looseObject({ name: z.string().min(1) }) }),
]);

const JsonSchemaText = z.string().refine((text) => {
  try {
    return typeof JSON.parse(text) === 'object';
  } catch {
    return false;
  }
}, 'the schema must be a JSON object encoded as a string');

const converseShape = {
  messages: z.array(Message).min(1, 'a conversation must have at least one message'),
  system: z.array(Block).optional(),
  inferenceConfig: z
    .looseObject({
      maxTokens: z.number().int().min(1).optional(),
      temperature: z.number().min(0).max(1).optional(),
      topP: z.number().min(0).max(1).optional(),
      stopSequences: z.array(z.string()).max(2500).optional(),
    })
    .optional(),
  toolConfig: z.looseObject({ tools: z.array(ToolEntry).min(1), toolChoice: ToolChoice.optional() }).optional(),
  additionalModelRequestFields: z.record(z.string(), z.unknown()).optional(),
  requestMetadata: z.record(z.string(), z.string()).optional(),
  serviceTier: z.looseObject({ type: z.enum(['default', 'flex', 'priority', 'reserved']) }).optional(),
  outputConfig: z
    .looseObject({
      textFormat: z
        .looseObject({
          type: z.literal('json_schema'),
          structure: z.looseObject({ jsonSchema: z.looseObject({ schema: JsonSchemaText, name: z.string().optional(), description: z.string().optional() }) }),
        })
        .optional(),
    })
    .optional(),
};

/** `POST /model/{modelId}/converse` and `/converse-stream`. */
export const ConverseRequest = z.looseObject(converseShape);
export type ConverseRequest = z.infer<typeof ConverseRequest>;

/** `POST /model/{modelId}/count-tokens`: Sluice counts Converse-shaped input. */
export const CountTokensRequest = z.looseObject({
  input: z.looseObject({
    converse: z.looseObject({
      messages: converseShape.messages,
      system: converseShape.system,
      toolConfig: converseShape.toolConfig,
      additionalModelRequestFields: converseShape.additionalModelRequestFields,
    }),
  }),
});
export type CountTokensRequest = z.infer<typeof CountTokensRequest>;

/** Fields the translation reads, and those that only tune Bedrock's own service (latency-optimized inference). */
const TRANSLATED_FIELDS = new Set([...Object.keys(converseShape), 'performanceConfig']);

export interface Translation {
  request: ChatRequest;
  extras: ChatExtras;
  untranslatable: string[];
  /** requestMetadata, which Sluice records as detail tags. */
  tags: Record<string, string>;
}

const DOCUMENT_TYPES: Record<string, string> = {
  pdf: 'application/pdf',
  txt: 'text/plain',
  csv: 'text/csv',
  html: 'text/html',
  md: 'text/markdown',
  doc: 'application/msword',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xls: 'application/vnd.ms-excel',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

function memberOf(block: Block): [string, unknown] {
  const [member] = Object.keys(block);
  return [member ?? '', block[member ?? '']];
}

function utf8Base64(text: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function breakpoint(point: z.infer<typeof CachePoint>): { ttl?: '5m' | '1h' } {
  return point.ttl ? { ttl: point.ttl } : {};
}

/** Builds canonical messages from Converse turns, recording cache points and what cannot be carried. */
class Translator {
  readonly messages: ChatMessage[] = [];
  readonly breakpoints: CacheBreakpoint[] = [];
  readonly untranslatable: string[] = [];

  private refuse(path: string, what: string): void {
    this.untranslatable.push(`${path} (${what})`);
  }

  system(blocks: Block[]): void {
    const parts: ContentPart[] = [];
    const index = this.messages.length;
    blocks.forEach((block, j) => {
      const [member, value] = memberOf(block);
      if (member === 'text') parts.push({ type: 'text', text: value as string });
      else if (member === 'cachePoint') this.cachePoint(value, index, parts.length - 1);
      else this.refuse(`system[${j}]`, `a ${member} block`);
    });
    if (parts.length > 0) this.messages.push({ role: 'system', content: parts });
  }

  private cachePoint(value: unknown, message: number, part: number | undefined): void {
    if (part !== undefined && part < 0) return;
    this.breakpoints.push({ message, ...(part === undefined ? {} : { part }), ...breakpoint(value as z.infer<typeof CachePoint>) });
  }

  private part(member: string, value: unknown, path: string): ContentPart | undefined {
    switch (member) {
      case 'text':
        return { type: 'text', text: value as string };
      case 'image': {
        const image = value as z.infer<typeof Image>;
        if ('bytes' in image.source) return { type: 'image_url', image_url: { url: `data:image/${image.format};base64,${image.source.bytes as string}` } };
        this.refuse(path, 'an image in S3');
        return undefined;
      }
      case 'document': {
        const document = value as z.infer<typeof Document>;
        const source = document.source;
        const filename = document.format ? `${document.name}.${document.format}` : document.name;
        if ('text' in source) return { type: 'file', file: { file_data: `data:text/plain;base64,${utf8Base64(source.text as string)}`, filename } };
        if ('content' in source) return { type: 'text', text: (source.content as Array<{ text: string }>).map((c) => c.text).join('\n') };
        if ('bytes' in source) {
          const mediaType = DOCUMENT_TYPES[document.format ?? 'pdf'];
          if (mediaType) return { type: 'file', file: { file_data: `data:${mediaType};base64,${source.bytes as string}`, filename } };
          this.refuse(path, `a ${document.format ?? ''} document`);
          return undefined;
        }
        this.refuse(path, 'a document in S3');
        return undefined;
      }
      case 'searchResult': {
        const result = value as { source?: string; title?: string; content?: Array<{ text?: string }> };
        return { type: 'text', text: [result.title, result.source, ...(result.content ?? []).map((c) => c.text)].filter(Boolean).join('\n') };
      }
      default:
        this.refuse(path, `a ${member} block`);
        return undefined;
    }
  }

  private toolResult(result: z.infer<typeof ToolResult>, path: string): void {
    const texts: string[] = [];
    result.content.forEach((inner, k) => {
      const [member, value] = memberOf(inner as Block);
      if (member === 'text') texts.push(value as string);
      else if (member === 'json') texts.push(JSON.stringify(value));
      else this.refuse(`${path}.content[${k}]`, `a ${member} block in a tool result`);
    });
    this.messages.push({ role: 'tool', tool_call_id: result.toolUseId, content: texts.join('\n') });
  }

  user(blocks: Block[], path: string): void {
    const parts: ContentPart[] = [];
    const pending: Array<{ value: unknown; part: number }> = [];
    let afterToolResult = false;
    blocks.forEach((block, j) => {
      const [member, value] = memberOf(block);
      const blockPath = `${path}[${j}]`;
      if (member === 'toolResult') {
        // Tool results become tool messages ahead of the user's other content, as OpenAI orders them.
        this.toolResult(value as z.infer<typeof ToolResult>, blockPath);
        afterToolResult = true;
      } else if (member === 'cachePoint') {
        if (afterToolResult) this.cachePoint(value, this.messages.length - 1, undefined);
        else pending.push({ value, part: parts.length - 1 });
      } else if (member !== 'reasoningContent') {
        afterToolResult = false;
        const part = this.part(member, value, blockPath);
        if (part) parts.push(part);
      }
    });
    if (parts.length === 0) return;
    const index = this.messages.length;
    for (const { value, part } of pending) this.cachePoint(value, index, part);
    this.messages.push({ role: 'user', content: parts });
  }

  assistant(blocks: Block[], path: string): void {
    const parts: ContentPart[] = [];
    const toolCalls: ToolCall[] = [];
    const index = this.messages.length;
    blocks.forEach((block, j) => {
      const [member, value] = memberOf(block);
      if (member === 'text') parts.push({ type: 'text', text: value as string });
      else if (member === 'toolUse') {
        const use = value as z.infer<typeof ToolUse>;
        toolCalls.push({ id: use.toolUseId, type: 'function', function: { name: use.name, arguments: JSON.stringify(use.input ?? {}) } });
      } else if (member === 'cachePoint') {
        // After tool calls the breakpoint closes the whole message; after text, that text part.
        this.cachePoint(value, index, toolCalls.length > 0 ? undefined : parts.length - 1);
      } else if (member !== 'reasoningContent') {
        // Earlier turns' reasoning is signed context only the model that wrote it reads; others answer without it.
        this.refuse(`${path}[${j}]`, `a ${member} block`);
      }
    });
    if (parts.length === 0 && toolCalls.length === 0) return;
    this.messages.push({ role: 'assistant', content: parts.length === 0 ? null : parts, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) });
  }
}

/** Thinking and top-k as Claude (`thinking`, `top_k`) and Nova (`reasoningConfig`, `inferenceConfig.topK`) name them. */
function modelFields(fields: Record<string, unknown>, extras: ChatExtras, untranslatable: string[]): void {
  for (const [name, value] of Object.entries(fields)) {
    const field = value as Record<string, unknown> | undefined;
    if (name === 'top_k' && typeof value === 'number') extras.topK = value;
    else if (name === 'inferenceConfig' && typeof field?.topK === 'number' && Object.keys(field).length === 1) extras.topK = field.topK;
    else if (name === 'thinking' && field?.type === 'enabled' && typeof field.budget_tokens === 'number') extras.thinking = { budgetTokens: field.budget_tokens };
    else if (name === 'thinking' && field?.type === 'disabled') continue;
    else if (name === 'reasoningConfig' && field?.type === 'enabled') {
      const effort = field.maxReasoningEffort;
      extras.thinking = { effort: effort === 'low' || effort === 'high' ? (effort as ThinkingEffort) : 'medium' };
    } else untranslatable.push(`additionalModelRequestFields.${name}`);
  }
}

/**
 * Translates a Converse body to the canonical request for `model` (the catalog name from the
 * path). Never throws: what cannot be carried is listed, and refused only if the request is not
 * passed through to a Bedrock upstream.
 */
export function toCanonical(model: string, body: ConverseRequest | CountTokensRequest['input']['converse'], stream: boolean): Translation {
  const translator = new Translator();
  if (body.system) translator.system(body.system);
  body.messages.forEach((message, i) => {
    const path = `messages[${i}].content`;
    if (message.role === 'user') translator.user(message.content, path);
    else translator.assistant(message.content, path);
  });

  const tools: FunctionTool[] = [];
  body.toolConfig?.tools.forEach((entry, k) => {
    if ('toolSpec' in entry) {
      const spec = entry.toolSpec as z.infer<typeof ToolSpec>;
      tools.push({
        type: 'function',
        function: {
          name: spec.name,
          ...(spec.description ? { description: spec.description } : {}),
          parameters: spec.inputSchema.json,
          ...(spec.strict !== undefined ? { strict: spec.strict } : {}),
        },
      });
    } else if ('cachePoint' in entry) {
      translator.breakpoints.push({ tools: true, ...breakpoint(entry.cachePoint as z.infer<typeof CachePoint>) });
    } else {
      translator.untranslatable.push(`toolConfig.tools[${k}] (a system tool)`);
    }
  });

  const full = body as ConverseRequest;
  for (const name of Object.keys(body)) {
    if (!TRANSLATED_FIELDS.has(name)) translator.untranslatable.push(`the "${name}" parameter`);
  }
  const extras: ChatExtras = {};
  modelFields(body.additionalModelRequestFields ?? {}, extras, translator.untranslatable);

  const request: ChatRequest = { model, messages: translator.messages };
  const inference = full.inferenceConfig;
  if (inference?.maxTokens !== undefined) request.max_completion_tokens = inference.maxTokens;
  if (inference?.temperature !== undefined) request.temperature = inference.temperature;
  if (inference?.topP !== undefined) request.top_p = inference.topP;
  if (inference?.stopSequences?.length) request.stop = inference.stopSequences;
  if (stream) request.stream = true;
  if (tools.length > 0) {
    request.tools = tools;
    const choice = body.toolConfig?.toolChoice;
    if (choice && 'auto' in choice) request.tool_choice = 'auto';
    else if (choice && 'any' in choice) request.tool_choice = 'required';
    else if (choice && 'tool' in choice) request.tool_choice = { type: 'function', function: { name: choice.tool.name } };
  }
  const tier = full.serviceTier?.type;
  if (tier === 'flex' || tier === 'priority') request.service_tier = tier;
  const format = full.outputConfig?.textFormat;
  if (format) {
    const { schema, name } = format.structure.jsonSchema;
    request.response_format = { type: 'json_schema', json_schema: { name: name ?? 'output', schema: JSON.parse(schema) as Record<string, unknown>, strict: true } };
  }
  if (translator.breakpoints.length > 0) extras.cacheBreakpoints = translator.breakpoints;
  return { request, extras, untranslatable: translator.untranslatable, tags: full.requestMetadata ?? {} };
}
