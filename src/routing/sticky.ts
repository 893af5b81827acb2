import type { CatalogModel } from '../catalog/catalog';
import { contentText, type ChatRequest } from '../gateway/chat';

/** How long a conversation is remembered: the longest provider prompt cache (1 hour). */
const CONVERSATION_TTL_MS = 60 * 60 * 1000;
const MAX_CONVERSATIONS = 50_000;

interface Remembered {
  modelId: string;
  lastSeen: number;
}

/** FNV-1a over the text, 52 bits so it stays an exact JS number: a cheap, stable conversation id. */
function fingerprint(text: string): string {
  let low = 0x811c9dc5;
  let high = 0x050c5d1f;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    low = Math.imul(low ^ c, 0x01000193) >>> 0;
    high = Math.imul(high ^ (c + i), 0x01000193) >>> 0;
  }
  return (high & 0xfffff).toString(36) + low.toString(36);
}

/**
 * The conversation a request belongs to: the caller's `x-sluice-session`, or else the key plus
 * the conversation's leading messages (system prompt and first user turn), which stay the same
 * as the conversation grows.
 */
export function conversationKey(keyId: string, request: ChatRequest, session: string | undefined): string {
  if (session) return `${keyId}:s:${session}`;
  let leading = '';
  for (const message of request.messages) {
    leading += `${message.role}\u0000${contentText(message.content)}\u0001`;
    if (message.role === 'user') break;
  }
  return `${keyId}:m:${fingerprint(leading)}`;
}

/**
 * Which model each live conversation is on. Switching models mid-conversation throws away the
 * provider's prompt cache of the conversation so far, so routing consults this before moving one.
 * In memory per instance: a conversation spread over instances may switch once per instance.
 */
export class ConversationMemory {
  private readonly conversations = new Map<string, Remembered>();

  modelFor(key: string, now: number): string | undefined {
    const remembered = this.conversations.get(key);
    if (!remembered) return undefined;
    if (now - remembered.lastSeen > CONVERSATION_TTL_MS) {
      this.conversations.delete(key);
      return undefined;
    }
    return remembered.modelId;
  }

  remember(key: string, model: CatalogModel, now: number): void {
    // Re-inserting keeps the Map in recency order, so the oldest entry is the first one.
    this.conversations.delete(key);
    if (this.conversations.size >= MAX_CONVERSATIONS) {
      const oldest = this.conversations.keys().next().value;
      if (oldest !== undefined) this.conversations.delete(oldest);
    }
    this.conversations.set(key, { modelId: model.id, lastSeen: now });
  }
}
