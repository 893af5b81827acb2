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

/** Encodes one message with string headers (the only kind Bedrock's events use). */
export function encodeEventStreamMessage(headers: Record<string, string>, payload: Uint8Array): Uint8Array {
  const encodedHeaders: Uint8Array[] = [];
  let headersLength = 0;
  for (const [name, value] of Object.entries(headers)) {
    const nameBytes = utf8.encode(name);
    const valueBytes = utf8.encode(value);
    const header = new Uint8Array(1 + nameBytes.length + 1 + 2 + valueBytes.length);
    const view = new DataView(header.buffer);
    header[0] = nameBytes.length;
    header.set(nameBytes, 1);
    header[1 + nameBytes.length] = HeaderType.String;
    view.setUint16(2 + nameBytes.length, valueBytes.length);
    header.set(valueBytes, 4 + nameBytes.length);
    encodedHeaders.push(header);
    headersLength += header.length;
  }
  const total = PRELUDE_BYTES + headersLength + payload.length + CHECKSUM_BYTES;
  const message = new Uint8Array(total);
  const view = new DataView(message.buffer);
  view.setUint32(0, total);
  view.setUint32(4, headersLength);
  view.setUint32(8, crc32(message, 0, 8));
  let offset = PRELUDE_BYTES;
  for (const header of encodedHeaders) {
    message.set(header, offset);
    offset += header.length;
  }
  message.set(payload, offset);
  view.setUint32(total - CHECKSUM_BYTES, crc32(message, 0, total - CHECKSUM_BYTES));
  return message;
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
    const name = fromUtf8.decode(bytes.subarray(at, at + nameLength));
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
        const value = bytes.subarray(at, at + length);
        headers[name] = type === HeaderType.String ? fromUtf8.decode(value) : value.slice();
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
