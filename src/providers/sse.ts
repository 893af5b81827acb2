/** One Server-Sent Events message. */
export interface SseMessage {
  event: string | undefined;
  data: string;
}

/**
 * An incremental SSE parser (the WHATWG event-stream rules: LF, CR or CRLF line ends, multi-line
 * `data:` joined by LF, comments ignored, a blank line dispatches). Feed it text or UTF-8 bytes
 * as they arrive (a character split across two chunks is joined).
 */
export class SseParser {
  private buffer = '';
  private event: string | undefined;
  private data: string[] = [];
  private readonly utf8 = new TextDecoder();

  push(input: string | Uint8Array): SseMessage[] {
    this.buffer += typeof input === 'string' ? input : this.utf8.decode(input, { stream: true });
    const messages: SseMessage[] = [];
    let start = 0;
    for (;;) {
      const lf = this.buffer.indexOf('\n', start);
      const cr = this.buffer.indexOf('\r', start);
      let end: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        // A CR at the very end may be the first half of a CRLF still on its way.
        if (cr === this.buffer.length - 1) break;
        end = cr;
        next = this.buffer[cr + 1] === '\n' ? cr + 2 : cr + 1;
      } else if (lf !== -1) {
        end = lf;
        next = lf + 1;
      } else {
        break;
      }
      this.line(this.buffer.slice(start, end), messages);
      start = next;
    }
    this.buffer = this.buffer.slice(start);
    return messages;
  }

  /** Dispatches a final message that the stream ended without a blank line after. */
  end(): SseMessage[] {
    const messages: SseMessage[] = [];
    if (this.buffer) this.line(this.buffer, messages);
    this.buffer = '';
    this.line('', messages);
    return messages;
  }

  private line(line: string, out: SseMessage[]): void {
    if (line === '') {
      if (this.data.length > 0) out.push({ event: this.event, data: this.data.join('\n') });
      this.event = undefined;
      this.data = [];
      return;
    }
    if (line.charCodeAt(0) === 58 /* : */) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
  }
}

const encoder = new TextEncoder();

export function sseDataText(data: string): string {
  return `data: ${data}\n\n`;
}

export function sseEventText(event: string, data: string): string {
  return `event: ${event}\ndata: ${data}\n\n`;
}

export function sseEvent(event: string, data: string): Uint8Array {
  return encoder.encode(sseEventText(event, data));
}
