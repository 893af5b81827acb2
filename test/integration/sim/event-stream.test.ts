import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { encodeEvent, encodeMessage, tableCrc32 } from '../../../src/sim/bedrock/event-stream';

describe('AWS event-stream encoding', () => {
  it('frames a message with lengths, headers and both CRCs', () => {
    const message = encodeMessage({ ':event-type': 'messageStart' }, Buffer.from('{"role":"assistant"}'));
    const headerLength = 1 + 11 + 1 + 2 + 12;
    expect(message.readUInt32BE(0)).toBe(message.length);
    expect(message.readUInt32BE(4)).toBe(headerLength);
    expect(message.readUInt32BE(8)).toBe(tableCrc32(message.subarray(0, 8)));
    expect(message.readUInt8(12)).toBe(11);
    expect(message.subarray(13, 24).toString()).toBe(':event-type');
    expect(message.readUInt8(24)).toBe(7);
    expect(message.readUInt16BE(25)).toBe(12);
    expect(message.subarray(12 + headerLength, message.length - 4).toString()).toBe('{"role":"assistant"}');
    expect(message.readUInt32BE(message.length - 4)).toBe(tableCrc32(message.subarray(0, message.length - 4)));
    expect(encodeEvent('messageStop', { stopReason: 'end_turn' }).includes(Buffer.from(':message-type'))).toBe(true);
  });

  it('computes the same CRC32 with the table fallback as with node:zlib', () => {
    expect(tableCrc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 31) % 256));
    expect(tableCrc32(data)).toBe(zlibCrc32(data));
  });
});
