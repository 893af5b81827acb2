import { EventEmitter } from 'node:events';
import type { Context } from 'hono';
import { describe, expect, it, vi } from 'vitest';
import { SluiceError } from '../../src/errors';
import type { ItemStream } from '../../src/gateway/item-stream';
import { completeStream, itemsOf } from '../../src/gateway/item-stream';
import { sendJson } from '../../src/http/raw';
import { pullStream, sendStream, type StreamFormat } from '../../src/http/stream';
import type { AppEnv } from '../../src/http/types';
import { withoutNullUsage } from '../../src/providers/openai';

/** A source whose batches the test hands out; `cancelled` counts cancel() calls. */
function manualSource(): { stream: ItemStream<string>; give(batch: string[] | undefined): void; fail(error: Error): void; asked(): number; cancelled(): number } {
  const waiting: Array<{ resolve(batch: string[] | undefined): void; reject(error: Error): void }> = [];
  let asked = 0;
  let cancelled = 0;
  const stream: ItemStream<string> = {
    nextBatch: () => {
      asked++;
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
    cancel: () => {
      cancelled++;
    },
    [Symbol.asyncIterator]: () => itemsOf(stream),
  };
  return {
    stream,
    give: (batch) => waiting.shift()!.resolve(batch),
    fail: (error) => waiting.shift()!.reject(error),
    asked: () => asked,
    cancelled: () => cancelled,
  };
}

const format: StreamFormat<string> = {
  render: (item) => (item === 'skip' ? '' : `<${item}>`),
  end: () => '<end>',
  error: (failure) => `<error ${failure.code}>`,
};

/** Node's response as the writer sees it: records what is written; write() answers `accept`. */
class FakeResponse extends EventEmitter {
  writes: string[] = [];
  head: [number, Record<string, string>] | undefined;
  ended: string | undefined;
  headersFlushed = false;
  accept = true;
  writableFinished = false;
  writeHead(status: number, headers: Record<string, string>): void {
    this.head = [status, headers];
  }
  write(chunk: string): boolean {
    this.writes.push(chunk);
    return this.accept;
  }
  end(chunk?: string): void {
    this.ended = chunk ?? '';
    this.writableFinished = true;
  }
  flushHeaders(): void {
    this.headersFlushed = true;
  }
}

function nodeContext(outgoing: FakeResponse): Context<AppEnv> {
  const logger = { error: vi.fn() };
  return {
    env: { incoming: { rawHeaders: [] }, outgoing },
    get: (name: string) => (name === 'services' ? { deps: { logger } } : 'req_test'),
  } as unknown as Context<AppEnv>;
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('sendStream on Node', () => {
  it('writes one chunk per batch, then the ending, and tells Hono the response is sent', async () => {
    const out = new FakeResponse();
    const source = manualSource();
    const response = sendStream(nodeContext(out), { 'content-type': 'text/event-stream' }, source.stream, format);
    expect(response.headers.get('x-hono-already-sent')).toBe('true');
    expect(out.head).toEqual([200, { 'content-type': 'text/event-stream' }]);
    source.give(['a', 'b', 'skip', 'c']);
    await settle();
    source.give(['d']);
    await settle();
    source.give(undefined);
    await settle();
    expect(out.writes).toEqual(['<a><b><c>', '<d>']);
    expect(out.ended).toBe('<end>');
    expect(source.cancelled()).toBe(0);
    // A keep-alive response closes after it finished: that is not a caller leaving.
    out.emit('close');
    expect(source.cancelled()).toBe(0);
  });

  it('waits for the socket to drain before reading more from the upstream', async () => {
    const out = new FakeResponse();
    const source = manualSource();
    sendStream(nodeContext(out), {}, source.stream, format);
    out.accept = false;
    source.give(['a']);
    await settle();
    expect(source.asked()).toBe(1);
    out.accept = true;
    out.emit('drain');
    await settle();
    expect(source.asked()).toBe(2);
    source.give(undefined);
    await settle();
    expect(out.ended).toBe('<end>');
  });

  it('cancels the source as soon as the caller goes away, and writes nothing more', async () => {
    const out = new FakeResponse();
    const source = manualSource();
    sendStream(nodeContext(out), {}, source.stream, format);
    source.give(['a']);
    await settle();
    out.emit('close');
    expect(source.cancelled()).toBe(1);
    source.give(['b']);
    await settle();
    expect(out.writes).toEqual(['<a>']);
    expect(out.ended).toBeUndefined();
  });

  it('ends with the protocol error event when the stream fails', async () => {
    const out = new FakeResponse();
    const source = manualSource();
    sendStream(nodeContext(out), {}, source.stream, format);
    source.give(['a']);
    await settle();
    source.fail(new SluiceError('upstream_timeout', 'silent'));
    await settle();
    expect(out.writes).toEqual(['<a>']);
    expect(out.ended).toBe('<error upstream_timeout>');
  });

  it('sends the status line at once when the first batch renders to nothing', async () => {
    const out = new FakeResponse();
    const source = manualSource();
    sendStream(nodeContext(out), {}, source.stream, format);
    source.give(['skip']);
    await settle();
    expect(out.headersFlushed).toBe(true);
    expect(out.writes).toEqual([]);
    source.give(undefined);
    await settle();
    expect(out.ended).toBe('<end>');
  });
});

describe('sendJson: a whole answer, then its bookkeeping', () => {
  /** An answer whose record() notes what the response held when it ran. */
  function answer(out?: FakeResponse): { headers: Record<string, string>; record(): void; recorded: Array<string | undefined> } {
    const recorded: Array<string | undefined> = [];
    return { headers: { 'x-sluice-model': 'm' }, record: () => recorded.push(out ? out.ended : 'recorded'), recorded };
  }

  it('on Node writes status, headers and the exact length in one piece, then records once', () => {
    const out = new FakeResponse();
    const a = answer(out);
    const body = JSON.stringify({ text: 'Straße 🌊' });
    const response = sendJson(nodeContext(out), a, () => body);
    expect(response.headers.get('x-hono-already-sent')).toBe('true');
    expect(out.head).toEqual([200, { 'x-sluice-model': 'm', 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }]);
    expect(out.ended).toBe(body);
    // record() ran after the answer was written.
    expect(a.recorded).toEqual([body]);
  });

  it('elsewhere returns the Response, recorded before it is returned', async () => {
    const a = answer();
    const context = { env: undefined } as unknown as Context<AppEnv>;
    const response = sendJson(context, a, () => '{"ok":true}');
    expect(a.recorded).toEqual(['recorded']);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('x-sluice-model')).toBe('m');
    expect(await response.text()).toBe('{"ok":true}');
  });

  it('records once even when the body cannot be rendered, and writes nothing', () => {
    const out = new FakeResponse();
    const a = answer(out);
    expect(() =>
      sendJson(nodeContext(out), a, () => {
        throw new SluiceError('upstream_error', 'cannot translate');
      }),
    ).toThrow('cannot translate');
    expect(out.head).toBeUndefined();
    expect(a.recorded).toEqual([undefined]);
  });
});

describe('pullStream (Workers, app.request)', () => {
  it('enqueues one chunk per batch and closes after the ending', async () => {
    const source = manualSource();
    const reader = pullStream(source.stream, format).getReader();
    const first = reader.read();
    await settle();
    source.give(['a', 'b']);
    expect(new TextDecoder().decode((await first).value)).toBe('<a><b>');
    const second = reader.read();
    await settle();
    source.give(undefined);
    expect(new TextDecoder().decode((await second).value)).toBe('<end>');
    expect((await reader.read()).done).toBe(true);
  });

  it('cancels the source when the reader goes away', async () => {
    const source = manualSource();
    const reader = pullStream(source.stream, format).getReader();
    const first = reader.read();
    await settle();
    source.give(['a']);
    await first;
    await reader.cancel();
    expect(source.cancelled()).toBe(1);
  });
});

describe('ItemStream', () => {
  it('iterates item by item, and cancels when the loop is left early', async () => {
    const stream = completeStream(['a', 'b', 'c']);
    const seen: string[] = [];
    for await (const item of stream) seen.push(item);
    expect(seen).toEqual(['a', 'b', 'c']);

    const source = manualSource();
    const iterate = (async () => {
      for await (const item of source.stream) if (item === 'b') break;
    })();
    source.give(['a', 'b', 'c']);
    await iterate;
    expect(source.cancelled()).toBe(1);
  });
});

describe('withoutNullUsage', () => {
  it('cuts the top-level "usage":null member out of compact JSON', () => {
    expect(withoutNullUsage('{"id":"x","choices":[],"usage":null}')).toBe('{"id":"x","choices":[]}');
    expect(withoutNullUsage('{"id":"x","usage":null,"obfuscation":"ab"}')).toBe('{"id":"x","obfuscation":"ab"}');
  });

  it('declines what it cannot cut safely, so the chunk is re-serialized instead', () => {
    expect(withoutNullUsage('{"usage":null,"id":"x"}')).toBeUndefined();
    expect(withoutNullUsage('{"id":"x", "usage": null}')).toBeUndefined();
    expect(withoutNullUsage('{"id":"x","usage":{"prompt_tokens":1}}')).toBeUndefined();
    expect(withoutNullUsage('{"choices":[{"delta":{"usage":null}}],"usage":null}')).toBeUndefined();
    // Inside a string the quotes are escaped: not a member.
    expect(withoutNullUsage('{"content":"a,\\"usage\\":null"}')).toBeUndefined();
  });
});
