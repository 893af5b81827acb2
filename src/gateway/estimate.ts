import { contentText, type ChatRequest } from './chat';

/**
 * A local token estimate (about four characters a token) for the rare case where the upstream
 * never reports usage, e.g. a stream the caller cut off. Rows priced from it are flagged.
 */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

export function promptText(request: ChatRequest): string {
  let text = '';
  for (const message of request.messages) text += contentText(message.content) + '\n';
  if (request.tools?.length) text += JSON.stringify(request.tools);
  return text;
}
