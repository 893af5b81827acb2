import type { CatalogModel } from '../catalog/catalog';
import type { ChatRequest } from '../gateway/chat';
import { estimateTokens, promptText } from '../gateway/estimate';

/** What a request needs from the model that serves it; routing never drops one of these. */
export interface Requirements {
  tools: boolean;
  vision: boolean;
  jsonMode: boolean;
  pdf: boolean;
  reasoning: boolean;
  /** Estimated prompt tokens plus the requested output budget. */
  contextTokens: number;
  /** Estimated prompt tokens alone. */
  promptTokens: number;
}

export function requirementsOf(request: ChatRequest): Requirements {
  let vision = false;
  let pdf = false;
  let tools = (request.tools?.length ?? 0) > 0;
  for (const message of request.messages) {
    if (message.role === 'tool' || (message.role === 'assistant' && (message.tool_calls?.length ?? 0) > 0)) tools = true;
    if (typeof message.content !== 'object' || message.content === null) continue;
    for (const part of message.content) {
      if (part.type === 'image_url') vision = true;
      else if (part.type === 'file') pdf = true;
    }
  }
  const format = request.response_format?.type;
  const promptTokens = estimateTokens(promptText(request));
  return {
    tools,
    vision,
    jsonMode: format === 'json_object' || format === 'json_schema',
    pdf,
    reasoning: request.reasoning_effort != null && request.reasoning_effort !== 'none',
    contextTokens: promptTokens + (request.max_completion_tokens ?? request.max_tokens ?? 0),
    promptTokens,
  };
}

/** Why a model cannot serve the request, or undefined when it can. */
export function unmetRequirement(model: CatalogModel, needs: Requirements): string | undefined {
  const has = model.capabilities;
  if (needs.tools && !has.tools) return 'tools';
  if (needs.vision && !has.vision) return 'vision';
  if (needs.jsonMode && !has.json_mode) return 'json_mode';
  if (needs.pdf && !has.pdf) return 'pdf';
  if (needs.reasoning && !has.reasoning) return 'reasoning';
  if (needs.contextTokens > model.context_window) return 'context_window';
  return undefined;
}
