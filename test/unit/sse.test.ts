import { describe, expect, it } from 'vitest';
import { SseParser } from '../../src/providers/sse';

describe('SseParser', () => {
  it('parses events split across arbitrary chunk boundaries', () => {
    const text = 'event: message_start\ndata: {"a":1}\n\n: comment\ndata: line1\ndata: line2\n\ndata: [DONE]\n\n';
    for (let split = 1; split < text.length; split++) {
      const parser = new SseParser();
      const messages = [...parser.push(text.slice(0, split)), ...parser.push(text.slice(split)), ...parser.end()];
      expect(messages).toEqual([
        { event: 'message_start', data: '{"a":1}' },
        { event: undefined, data: 'line1\nline2' },
        { event: undefined, data: '[DONE]' },
      ]);
    }
  });

  it('accepts CRLF and CR line ends, including a CRLF split across chunks', () => {
    const parser = new SseParser();
    expect(parser.push('data: a\r')).toEqual([]);
    // A CR at the end of a chunk may be half of a CRLF, so the last event waits for more input or the end.
    expect([...parser.push('\n\r\ndata: b\r\r'), ...parser.end()]).toEqual([
      { event: undefined, data: 'a' },
      { event: undefined, data: 'b' },
    ]);
  });

  it('dispatches a last event that ends without a blank line', () => {
    const parser = new SseParser();
    expect(parser.push('data: tail')).toEqual([]);
    expect(parser.end()).toEqual([{ event: undefined, data: 'tail' }]);
  });

  it('keeps a value without the optional space and ignores unknown fields', () => {
    const parser = new SseParser();
    expect(parser.push('data:x\nid: 7\nretry: 10\n\n')).toEqual([{ event: undefined, data: 'x' }]);
  });
});
