import { SluiceError } from '../errors';

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

const encoder = new TextEncoder();

function bytes(value: Chunk): Uint8Array {
  if (typeof value === 'string') return encoder.encode(value);
  if (value instanceof Uint8Array) return value;
  if (value.length === 1) return value[0]!;
  const joined = new Uint8Array(value.reduce((n, part) => n + part.byteLength, 0));
  let offset = 0;
  for (const part of value) {
    joined.set(part, offset);
    offset += part.byteLength;
  }
  return joined;
}

/**
 * A response body pulled from `source` as fast as the caller reads it (backpressure reaches the
 * upstream); a caller who goes away cancels the source, which the pipeline records.
 */
export function pullStream<T>(source: AsyncIterable<T>, format: StreamFormat<T>): ReadableStream<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        for (;;) {
          const next = await iterator.next();
          const out = bytes(next.done ? format.end() : format.render(next.value));
          if (out.byteLength > 0) controller.enqueue(out);
          if (next.done) controller.close();
          if (next.done || out.byteLength > 0) return;
        }
      } catch (error) {
        const failure = error instanceof SluiceError ? error : new SluiceError('upstream_error', 'The upstream stream failed.');
        controller.enqueue(bytes(format.error(failure)));
        controller.close();
      }
    },
    async cancel() {
      await iterator.return?.();
    },
  });
}
