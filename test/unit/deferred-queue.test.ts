import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { multipartUpload } from '../../src/batch/clients/openai';
import { parseJsonl } from '../../src/batch/clients/types';
import { announcementDue } from '../../src/batch/finish';
import { signMessage } from '../../src/webhooks/signing';

describe('deferred queue helpers', () => {
  it('signs webhooks exactly as the standardwebhooks package does', async () => {
    const secret = `whsec_${Buffer.from('a-thirty-two-byte-signing-secret').toString('base64')}`;
    const body = JSON.stringify({ type: 'deferred.completed', timestamp: '2026-11-25T12:00:00.000Z', data: { id: 'dfr_1', status: 'completed' } });
    const at = new Date('2026-11-25T12:00:00Z');
    expect(await signMessage(secret, 'msg_dfr_1', at.getTime() / 1000, body)).toBe(new Webhook(secret).sign('msg_dfr_1', at, body));
  });

  it('retries an undelivered announcement at 1, 2, 4, 8 ... minutes after the ending', () => {
    const due = Array.from({ length: 70 }, (_, minute) => minute).filter((minute) => announcementDue(0, minute * 60_000 + 30_000));
    expect(due).toEqual([1, 2, 4, 8, 16, 32, 64]);
  });

  it('builds a multipart upload with the purpose field and the JSONL file', () => {
    const body = new TextDecoder().decode(multipartUpload('bj_1.jsonl', '{"a":1}\n', 'XYZ'));
    expect(body).toBe(
      '--XYZ\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n' +
        '--XYZ\r\nContent-Disposition: form-data; name="file"; filename="bj_1.jsonl"\r\nContent-Type: application/jsonl\r\n\r\n{"a":1}\n\r\n--XYZ--\r\n',
    );
  });

  it('parses JSON Lines, skipping blank lines', () => {
    expect(parseJsonl('{"a":1}\n\n{"b":2}\n')).toEqual([{ a: 1 }, { b: 2 }]);
  });
});
