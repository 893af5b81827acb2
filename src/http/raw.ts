import type { Context } from 'hono';
import { SluiceError } from '../errors';
import type { AppEnv } from './types';

/**
 * On @hono/node-server, `c.env` carries Node's own request and response. Reading the body and
 * watching for the caller leaving through them avoids materializing a WHATWG Request per call
 * (its body stream and AbortSignal cost more CPU than the rest of the gateway's work). Elsewhere
 * (Workers, `app.request()` in tests) the standard Request is used. Duck-typed on purpose:
 * nothing here imports Node.
 */
interface NodeBindings {
  incoming: AsyncIterable<Uint8Array> & { readableEnded?: boolean };
  outgoing: { writableFinished: boolean; once(event: 'close', listener: () => void): unknown };
}

function nodeBindings(c: Context<AppEnv>): NodeBindings | undefined {
  const env = c.env as Partial<NodeBindings> | undefined;
  return env && typeof env === 'object' && env.incoming && env.outgoing ? (env as NodeBindings) : undefined;
}

export function tooLarge(limit: number): SluiceError {
  return new SluiceError('payload_too_large', `The request body is larger than this gateway's limit of ${limit} bytes (SLUICE_MAX_BODY_BYTES).`);
}

/** The request body as text, refused with 413 as soon as it passes `limit` bytes (chunked bodies included). */
export async function readBodyText(c: Context<AppEnv>, limit: number): Promise<string> {
  const node = nodeBindings(c);
  if (!node) {
    const text = await c.req.text();
    if (text.length > limit && new TextEncoder().encode(text).byteLength > limit) throw tooLarge(limit);
    return text;
  }
  const decoder = new TextDecoder();
  let size = 0;
  let text = '';
  for await (const chunk of node.incoming) {
    size += chunk.byteLength;
    if (size > limit) throw tooLarge(limit);
    text += decoder.decode(chunk, { stream: true });
  }
  return text + decoder.decode();
}

/** Fires when the caller goes away before the answer is complete. */
export function callerSignal(c: Context<AppEnv>): AbortSignal {
  const node = nodeBindings(c);
  if (!node) return c.req.raw.signal;
  const controller = new AbortController();
  node.outgoing.once('close', () => {
    if (!node.outgoing.writableFinished) controller.abort(new Error('the caller closed the connection'));
  });
  return controller.signal;
}
