/**
 * AWS event-stream framing (`application/vnd.amazon.eventstream`), as Bedrock's ConverseStream
 * uses it. Each message:
 *
 *   total length (u32 BE) | headers length (u32 BE) | CRC32 of those 8 bytes (u32 BE)
 *   | headers | payload | CRC32 of everything before it (u32 BE)
 *
 * Each header: name length (u8), name, value type (7 = string), value length (u16 BE), value.
 */

import * as zlib from 'node:zlib';
import { crc32 as tableCrc32 } from '../../providers/eventstream';

export const EVENT_STREAM_CONTENT_TYPE = 'application/vnd.amazon.eventstream';

const STRING_HEADER_TYPE = 7;

/** The pure-JS table CRC-32 is the gateway's own (src/providers/eventstream.ts). */
export { tableCrc32 };

// node:zlib gained crc32 in Node 20.15; package.json allows 20.10, so keep a table fallback.
const crc32: (data: Uint8Array) => number = typeof zlib.crc32 === 'function' ? (data) => zlib.crc32(data) : tableCrc32;

function encodeHeaders(headers: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(headers)) {
    const nameBytes = Buffer.from(name, 'utf8');
    const valueBytes = Buffer.from(value, 'utf8');
    const header = Buffer.alloc(1 + nameBytes.length + 1 + 2 + valueBytes.length);
    let offset = header.writeUInt8(nameBytes.length, 0);
    offset += nameBytes.copy(header, offset);
    offset = header.writeUInt8(STRING_HEADER_TYPE, offset);
    offset = header.writeUInt16BE(valueBytes.length, offset);
    valueBytes.copy(header, offset);
    parts.push(header);
  }
  return Buffer.concat(parts);
}

export function encodeMessage(headers: Record<string, string>, payload: Buffer): Buffer {
  const headerBytes = encodeHeaders(headers);
  const totalLength = 12 + headerBytes.length + payload.length + 4;
  const message = Buffer.alloc(totalLength);
  message.writeUInt32BE(totalLength, 0);
  message.writeUInt32BE(headerBytes.length, 4);
  message.writeUInt32BE(crc32(message.subarray(0, 8)), 8);
  headerBytes.copy(message, 12);
  payload.copy(message, 12 + headerBytes.length);
  message.writeUInt32BE(crc32(message.subarray(0, totalLength - 4)), totalLength - 4);
  return message;
}

/** A normal event: `:message-type: event`, `:event-type: <name>`, JSON payload. */
export function encodeEvent(eventType: string, payload: unknown): Buffer {
  return encodeMessage(
    { ':event-type': eventType, ':content-type': 'application/json', ':message-type': 'event' },
    Buffer.from(JSON.stringify(payload), 'utf8'),
  );
}

/** A modeled exception inside the stream: `:message-type: exception`, `:exception-type: <name>`. */
export function encodeException(exceptionType: string, payload: unknown): Buffer {
  return encodeMessage(
    { ':exception-type': exceptionType, ':content-type': 'application/json', ':message-type': 'exception' },
    Buffer.from(JSON.stringify(payload), 'utf8'),
  );
}

/** A correctly framed event whose JSON payload is cut short, for the `bad-json` fault. */
export function encodeMalformedEvent(eventType: string, payload: unknown): Buffer {
  const json = JSON.stringify(payload);
  return encodeMessage(
    { ':event-type': eventType, ':content-type': 'application/json', ':message-type': 'event' },
    Buffer.from(json.slice(0, Math.floor(json.length / 2)), 'utf8'),
  );
}
