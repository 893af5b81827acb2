import { EventStreamCodec } from '@smithy/core/event-streams';
import { describe, expect, it } from 'vitest';
import { crc32, encodeEvent, encodeEventStreamMessage, encodeException, EventStreamDecoder, EventStreamError } from '../../src/providers/eventstream';

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();
/** The AWS SDK's own codec, as the reference for the framing. */
const smithy = new EventStreamCodec((bytes) => fromUtf8.decode(bytes), (text) => utf8.encode(text));

describe('AWS event-stream framing', () => {
  it('computes the IEEE CRC-32', () => {
    expect(crc32(utf8.encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it('encodes messages the AWS SDK decodes, headers and payload intact', () => {
    const frame = encodeEvent('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'héllo' } });
    const decoded = smithy.decode(frame);
    expect(decoded.headers[':event-type']).toEqual({ type: 'string', value: 'contentBlockDelta' });
    expect(decoded.headers[':message-type']).toEqual({ type: 'string', value: 'event' });
    expect(decoded.headers[':content-type']).toEqual({ type: 'string', value: 'application/json' });
    expect(JSON.parse(fromUtf8.decode(decoded.body))).toEqual({ contentBlockIndex: 0, delta: { text: 'héllo' } });

    expect(smithy.decode(encodeEventStreamMessage({ 'x-note': 'naïve ☕' }, new Uint8Array(0))).headers['x-note']).toEqual({ type: 'string', value: 'naïve ☕' });

    const exception = smithy.decode(encodeException('throttlingException', 'slow down'));
    expect(exception.headers[':message-type']?.value).toBe('exception');
    expect(exception.headers[':exception-type']?.value).toBe('throttlingException');
    expect(JSON.parse(fromUtf8.decode(exception.body))).toEqual({ message: 'slow down' });
  });

  it('decodes what the AWS SDK encodes, including non-string header types', () => {
    const frame = smithy.encode({
      headers: {
        ':event-type': { type: 'string', value: 'metadata' },
        flag: { type: 'boolean', value: true },
        off: { type: 'boolean', value: false },
        small: { type: 'byte', value: -3 },
        medium: { type: 'short', value: 300 },
        large: { type: 'integer', value: 70000 },
        raw: { type: 'binary', value: new Uint8Array([1, 2, 3]) },
        note: { type: 'string', value: 'café ☕' },
      },
      body: utf8.encode('{"usage":{}}'),
    });
    const [message] = new EventStreamDecoder().push(frame);
    expect(message?.headers).toMatchObject({ ':event-type': 'metadata', flag: true, off: false, small: -3, medium: 300, large: 70000, note: 'café ☕' });
    expect([...(message?.headers.raw as Uint8Array)]).toEqual([1, 2, 3]);
    expect(fromUtf8.decode(message?.payload)).toBe('{"usage":{}}');
  });

  it('reassembles messages split at every possible byte', () => {
    const stream = new Uint8Array([...encodeEvent('messageStart', { role: 'assistant' }), ...encodeEvent('messageStop', { stopReason: 'end_turn' })]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const decoder = new EventStreamDecoder();
      const messages = [...decoder.push(stream.subarray(0, cut)), ...decoder.push(stream.subarray(cut))];
      expect(messages.map((m) => m.headers[':event-type'])).toEqual(['messageStart', 'messageStop']);
      expect(decoder.pendingBytes).toBe(0);
    }
  });

  it('keeps a partial frame pending until the rest arrives', () => {
    const frame = encodeEventStreamMessage({ a: 'b' }, utf8.encode('x'));
    const decoder = new EventStreamDecoder();
    expect(decoder.push(frame.subarray(0, 10))).toEqual([]);
    expect(decoder.pendingBytes).toBe(10);
  });

  it('refuses a frame whose checksums do not match', () => {
    const frame = encodeEvent('messageStart', { role: 'assistant' });
    const corruptPayload = frame.slice();
    corruptPayload[corruptPayload.length - 6] = corruptPayload.at(-6)! ^ 0xff;
    expect(() => new EventStreamDecoder().push(corruptPayload)).toThrow(EventStreamError);
    const corruptPrelude = frame.slice();
    corruptPrelude[2] = corruptPrelude[2]! ^ 0x01;
    expect(() => new EventStreamDecoder().push(corruptPrelude)).toThrow(/prelude checksum/);
  });
});
