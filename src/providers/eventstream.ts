/**
 * The AWS event-stream binary framing (`application/vnd.amazon.eventstream`) that Bedrock's
 * ConverseStream speaks: each message is a 12-byte prelude (total length, headers length, CRC32
 * of those eight bytes), typed headers, a payload, and a CRC32 of everything before it. Pure
 * Web-standard code: the Bedrock adapter decodes with it on Node and Workers, the Bedrock front
 * door encodes with it.
 */

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE 802.3), as the event-stream prelude and message checksums use. */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) crc = (CRC_TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8)) >>> 0;
  return (crc ^ 0xffffffff) >>> 0;
}

const PRELUDE_BYTES = 12;
const CHECKSUM_BYTES = 4;
/** The largest message the framing allows (16 MiB), a guard against a corrupt length. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** Header value types from the framing's specification. */
const enum HeaderType {
  BoolTrue = 0,
  BoolFalse = 1,
  Byte = 2,
  Short = 3,
  Integer = 4,
  Long = 5,
  Bytes = 6,
  String = 7,
  Timestamp = 8,
  Uuid = 9,
}

export interface EventStreamMessage {
  /** Header values; string headers (all that Bedrock sends) as strings, others as their decoded value. */
  headers: Record<string, string | number | boolean | Uint8Array>;
  payload: Uint8Array;
}

export class EventStreamError extends Error {
  override name = 'EventStreamError';
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** UTF-8 bytes of a header name or value; ASCII (every header Bedrock sends) skips TextEncoder, slow on short strings. */
function headerBytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x7f) return utf8.encode(text);
    bytes[i] = code;
  }
  return bytes;
}

/** Encodes one message with string headers (the only kind Bedrock's events use), in one buffer. */
export function encodeEventStreamMessage(headers: Record<string, string>, payload: Uint8Array): Uint8Array {
  const encoded: Array<[Uint8Array, Uint8Array]> = [];
  let headersLength = 0;
  for (const name in headers) {
    const pair: [Uint8Array, Uint8Array] = [headerBytes(name), headerBytes(headers[name]!)];
    encoded.push(pair);
    headersLength += 4 + pair[0].length + pair[1].length;
  }
  const total = PRELUDE_BYTES + headersLength + payload.length + CHECKSUM_BYTES;
  const message = new Uint8Array(total);
  const view = new DataView(message.buffer);
  view.setUint32(0, total);
  view.setUint32(4, headersLength);
  view.setUint32(8, crc32(message, 0, 8));
  let offset = PRELUDE_BYTES;
  for (const [name, value] of encoded) {
    message[offset] = name.length;
    message.set(name, offset + 1);
    offset += 1 + name.length;
    message[offset] = HeaderType.String;
    view.setUint16(offset + 1, value.length);
    message.set(value, offset + 3);
    offset += 3 + value.length;
  }
  message.set(payload, offset);
  view.setUint32(total - CHECKSUM_BYTES, crc32(message, 0, total - CHECKSUM_BYTES));
  return message;
}

/** A header name or value from its UTF-8 bytes; ASCII skips TextDecoder, slow on short strings. */
function headerText(bytes: Uint8Array, start: number, end: number): string {
  let text = '';
  for (let i = start; i < end; i++) {
    const byte = bytes[i]!;
    if (byte > 0x7f) return fromUtf8.decode(bytes.subarray(start, end));
    text += String.fromCharCode(byte);
  }
  return text;
}

function decodeHeaders(bytes: Uint8Array, start: number, end: number): EventStreamMessage['headers'] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headers: EventStreamMessage['headers'] = {};
  let at = start;
  const need = (n: number): void => {
    if (at + n > end) throw new EventStreamError('event-stream header runs past the header block');
  };
  while (at < end) {
    need(1);
    const nameLength = bytes[at]!;
    at += 1;
    need(nameLength + 1);
    const name = headerText(bytes, at, at + nameLength);
    at += nameLength;
    const type = bytes[at]!;
    at += 1;
    switch (type) {
      case HeaderType.BoolTrue:
        headers[name] = true;
        break;
      case HeaderType.BoolFalse:
        headers[name] = false;
        break;
      case HeaderType.Byte:
        need(1);
        headers[name] = view.getInt8(at);
        at += 1;
        break;
      case HeaderType.Short:
        need(2);
        headers[name] = view.getInt16(at);
        at += 2;
        break;
      case HeaderType.Integer:
        need(4);
        headers[name] = view.getInt32(at);
        at += 4;
        break;
      case HeaderType.Long:
      case HeaderType.Timestamp:
        need(8);
        headers[name] = Number(view.getBigInt64(at));
        at += 8;
        break;
      case HeaderType.Bytes:
      case HeaderType.String: {
        need(2);
        const length = view.getUint16(at);
        at += 2;
        need(length);
        headers[name] = type === HeaderType.String ? headerText(bytes, at, at + length) : bytes.slice(at, at + length);
        at += length;
        break;
      }
      case HeaderType.Uuid:
        need(16);
        headers[name] = bytes.slice(at, at + 16);
        at += 16;
        break;
      default:
        throw new EventStreamError(`event-stream header "${name}" has unknown type ${type}`);
    }
  }
  return headers;
}

/**
 * An incremental event-stream decoder: feed it bytes as they arrive, get whole messages out.
 * Both checksums are verified; a corrupt frame throws EventStreamError.
 */
export class EventStreamDecoder {
  private buffer: Uint8Array = new Uint8Array(0);

  push(chunk: Uint8Array): EventStreamMessage[] {
    if (this.buffer.length === 0) {
      this.buffer = chunk;
    } else {
      const joined = new Uint8Array(this.buffer.length + chunk.length);
      joined.set(this.buffer);
      joined.set(chunk, this.buffer.length);
      this.buffer = joined;
    }
    const messages: EventStreamMessage[] = [];
    let offset = 0;
    while (this.buffer.length - offset >= PRELUDE_BYTES) {
      const view = new DataView(this.buffer.buffer, this.buffer.byteOffset + offset, PRELUDE_BYTES);
      const total = view.getUint32(0);
      const headersLength = view.getUint32(4);
      if (view.getUint32(8) !== crc32(this.buffer, offset, offset + 8)) throw new EventStreamError('event-stream prelude checksum mismatch');
      if (total > MAX_MESSAGE_BYTES || total < PRELUDE_BYTES + headersLength + CHECKSUM_BYTES) {
        throw new EventStreamError(`event-stream message length ${total} is not valid`);
      }
      if (this.buffer.length - offset < total) break;
      const end = offset + total;
      const expected = new DataView(this.buffer.buffer, this.buffer.byteOffset + end - CHECKSUM_BYTES, CHECKSUM_BYTES).getUint32(0);
      if (expected !== crc32(this.buffer, offset, end - CHECKSUM_BYTES)) throw new EventStreamError('event-stream message checksum mismatch');
      const headersStart = offset + PRELUDE_BYTES;
      const payloadStart = headersStart + headersLength;
      messages.push({
        headers: decodeHeaders(this.buffer, headersStart, payloadStart),
        payload: this.buffer.slice(payloadStart, end - CHECKSUM_BYTES),
      });
      offset = end;
    }
    this.buffer = offset === 0 ? this.buffer : this.buffer.slice(offset);
    return messages;
  }

  /** Bytes left over that never made a whole message (a stream cut off mid-frame). */
  get pendingBytes(): number {
    return this.buffer.length;
  }
}

/** A message with a JSON payload, named by its `:event-type` or `:exception-type` header. */
function jsonMessage(kind: 'event' | 'exception', name: string, body: unknown): Uint8Array {
  return encodeEventStreamMessage({ [`:${kind}-type`]: name, ':content-type': 'application/json', ':message-type': kind }, utf8.encode(JSON.stringify(body)));
}

/** A Bedrock stream event: `:message-type: event`, the event's members as the JSON payload. */
export function encodeEvent(eventType: string, body: unknown): Uint8Array {
  return jsonMessage('event', eventType, body);
}

/** A modeled in-stream exception (`throttlingException`, ...), as Bedrock reports errors after the 200. */
export function encodeException(exceptionType: string, message: string): Uint8Array {
  return jsonMessage('exception', exceptionType, { message });
}
