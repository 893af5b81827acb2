import type { Context } from 'hono';
import { SluiceError } from '../errors';
import type { ItemStream } from '../gateway/item-stream';
import { alreadySent, nodeResponse, type NodeResponse } from './raw';
import type { AppEnv } from './types';

/** How a front door writes a stream in its own wire format. */
export interface StreamFormat<T> {
  /** The bytes for one item; empty to send nothing for it. */
  render(item: T): Chunk;
  /** The protocol's ending, once the source is exhausted. */
  end(): Chunk;
  /** An error after the status line is out: the protocol's in-stream error event. */
  error(error: SluiceError): Uint8Array | string;
}

type Chunk = Uint8Array | string | readonly Uint8Array[];
type Part = Uint8Array | string;

const encoder = new TextEncoder();

function failureOf(error: unknown): SluiceError {
  return error instanceof SluiceError ? error : new SluiceError('upstream_error', 'The upstream stream failed.');
}

/** Appends a rendered chunk's non-empty parts to `parts`. */
function collect(chunk: Chunk, parts: Part[]): void {
  if (typeof chunk === 'string' || chunk instanceof Uint8Array) {
    if (chunk.length > 0) parts.push(chunk);
    return;
  }
  for (const part of chunk) if (part.byteLength > 0) parts.push(part);
}

/** One batch's output: strings stay strings (joined), anything binary becomes one byte array. */
function joined(parts: readonly Part[]): Part {
  if (parts.length === 1) return parts[0]!;
  if (parts.every((p) => typeof p === 'string')) return parts.join('');
  const bytes = parts.map((p) => (typeof p === 'string' ? encoder.encode(p) : p));
  const out = new Uint8Array(bytes.reduce((n, part) => n + part.byteLength, 0));
  let offset = 0;
  for (const part of bytes) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/** Renders a batch of items (or the ending) into `parts`. */
function render<T>(batch: readonly T[] | undefined, format: StreamFormat<T>, parts: Part[]): void {
  if (!batch) {
    collect(format.end(), parts);
    return;
  }
  for (const item of batch) collect(format.render(item), parts);
}

/**
 * A response body pulled from `source` as fast as the caller reads it (backpressure reaches the
 * upstream), one enqueued chunk per upstream read; a caller who goes away cancels the source,
 * which the pipeline records.
 */
export function pullStream<T>(source: ItemStream<T>, format: StreamFormat<T>): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        for (;;) {
          const batch = await source.nextBatch();
          const parts: Part[] = [];
          render(batch, format, parts);
          if (parts.length > 0) {
            const out = joined(parts);
            controller.enqueue(typeof out === 'string' ? encoder.encode(out) : out);
          }
          if (!batch) controller.close();
          if (!batch || parts.length > 0) return;
        }
      } catch (error) {
        const failure = format.error(failureOf(error));
        controller.enqueue(typeof failure === 'string' ? encoder.encode(failure) : failure);
        controller.close();
      }
    },
    cancel() {
      source.cancel();
    },
  });
}

/**
 * Writes a streamed answer to Node's response: one socket write per upstream read, strings
 * written as they are, no WHATWG stream in between. Honours backpressure; a caller who goes away
 * cancels the source at once (the upstream is released and the request recorded).
 */
async function writeToNode<T>(out: NodeResponse, source: ItemStream<T>, format: StreamFormat<T>): Promise<void> {
  let gone = false;
  let resume: (() => void) | undefined;
  const onClose = (): void => {
    gone = true;
    source.cancel();
    resume?.();
  };
  out.once('close', onClose);
  let wrote = false;
  try {
    for (;;) {
      const parts: Part[] = [];
      let batch: readonly T[] | undefined;
      try {
        batch = await source.nextBatch();
        render(batch, format, parts);
      } catch (error) {
        if (!gone) out.end(format.error(failureOf(error)));
        return;
      }
      if (gone) return;
      const data = parts.length > 0 ? joined(parts) : undefined;
      if (!batch) {
        out.removeListener('close', onClose);
        out.end(data);
        return;
      }
      if (data === undefined) {
        // Nothing to send for this batch: the caller still gets the status line without waiting.
        if (!wrote) out.flushHeaders();
        wrote = true;
        continue;
      }
      wrote = true;
      if (!out.write(data)) {
        await new Promise<void>((resolve) => {
          resume = resolve;
          out.once('drain', resolve);
        });
        out.removeListener('drain', resume!);
        resume = undefined;
        if (gone) return;
      }
    }
  } finally {
    out.removeListener('close', onClose);
  }
}

/**
 * A streamed answer with its status and headers. On Node it is written to the socket directly
 * (the pipeline's batches become single writes); elsewhere (Workers, `app.request()` in tests)
 * it is a ReadableStream body.
 */
export function sendStream<T>(c: Context<AppEnv>, headers: Record<string, string>, source: ItemStream<T>, format: StreamFormat<T>): Response {
  const out = nodeResponse(c);
  if (!out) return new Response(pullStream(source, format), { status: 200, headers });
  try {
    out.writeHead(200, headers);
  } catch (error) {
    source.cancel();
    throw error;
  }
  writeToNode(out, source, format).catch((error: unknown) => {
    // Only a fault in the writer itself lands here: the caller cannot be told any more.
    c.get('services').deps.logger.error('stream writer failed', { request_id: c.get('requestId'), error: (error as Error).message });
    source.cancel();
    out.end();
  });
  return alreadySent();
}
