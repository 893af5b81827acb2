import { describe, expect, it } from 'vitest';
import { blockedAddress, formatIPv4, parseIPv4, parseIPv6 } from '../../src/webhooks/addresses';
import { checkWebhookUrl, type UrlPolicy } from '../../src/webhooks/safe-url';

describe('parseIPv4 (inet_aton forms)', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['2130706433', '127.0.0.1'],
    ['0x7f.1', '127.0.0.1'],
    ['0177.0.0.1', '127.0.0.1'],
    ['0x7f000001', '127.0.0.1'],
    ['127.1', '127.0.0.1'],
    ['169.254.43518', '169.254.169.254'],
    ['0xa9.0xfe.0xa9.0xfe', '169.254.169.254'],
    ['012.0.0.1', '10.0.0.1'],
    ['8.8.8.8.', '8.8.8.8'],
    ['1.2.3.0x', '1.2.3.0'],
  ])('%s is %s', (text, dotted) => {
    expect(formatIPv4(parseIPv4(text)!)).toBe(dotted);
  });

  it.each(['256.0.0.1', '1.2.3.4.5', '08.0.0.1', 'example.com', '0x1g', '4294967296'])('%s is not an IPv4 address', (text) => {
    expect(parseIPv4(text)).toBeUndefined();
  });
});

describe('parseIPv6', () => {
  it('expands :: and embedded IPv4 tails', () => {
    expect(parseIPv6('::1')).toEqual([0, 0, 0, 0, 0, 0, 0, 1]);
    expect(parseIPv6('::ffff:127.0.0.1')).toEqual([0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]);
    expect(parseIPv6('2001:db8::8a2e:370:7334')).toEqual([0x2001, 0xdb8, 0, 0, 0, 0x8a2e, 0x370, 0x7334]);
    expect(parseIPv6('1:2:3:4:5:6:7:8')).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('rejects malformed text', () => {
    for (const bad of ['1::2::3', '12345::', '1:2:3:4:5:6:7', '::ffff:300.1.1.1', 'g::1']) expect(parseIPv6(bad)).toBeUndefined();
  });
});

describe('blockedAddress', () => {
  it.each([
    ['169.254.169.254', 'link-local'],
    ['10.0.0.1', 'private'],
    ['172.16.5.4', 'private'],
    ['192.168.1.1', 'private'],
    ['127.0.0.1', 'loopback'],
    ['0.0.0.0', 'this network'],
    ['100.100.100.200', 'carrier-grade NAT'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['[::1]', 'loopback'],
    ['::', 'unspecified'],
    ['::ffff:169.254.169.254', 'IPv4-mapped form of 169.254.169.254'],
    ['[::ffff:7f00:1]', 'IPv4-mapped form of 127.0.0.1'],
    ['::ffff:0:a00:1', 'IPv4-translated form of 10.0.0.1'],
    ['::127.0.0.1', 'IPv4-compatible'],
    ['64:ff9b::a9fe:a9fe', 'NAT64 form of 169.254.169.254'],
    ['2002:7f00:1::', '6to4 form of 127.0.0.1'],
    ['fc00::1', 'unique-local'],
    ['fd00:ec2::254', 'unique-local'],
    ['fe80::1', 'link-local'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'documentation'],
  ])('%s is refused (%s)', (address, why) => {
    expect(blockedAddress(address)).toContain(why);
  });

  it.each(['8.8.8.8', '1.1.1.1', '93.184.216.34', '2606:4700:4700::1111', '::ffff:8.8.8.8', '172.32.0.1', '100.128.0.1'])('%s is public', (address) => {
    expect(blockedAddress(address)).toBeUndefined();
  });
});

describe('checkWebhookUrl', () => {
  const resolved: Record<string, string[]> = {
    'hooks.example.com': ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946'],
    'sneaky.example.com': ['93.184.216.34', '127.0.0.1'],
    'rebind.example.com': ['::ffff:10.0.0.1'],
  };
  const lookups: string[] = [];
  const strict: UrlPolicy = {
    allowPrivate: false,
    resolveHost: async (host) => {
      lookups.push(host);
      const answer = resolved[host];
      if (!answer) throw new Error('ENOTFOUND');
      return answer;
    },
  };

  it('accepts a public https URL and pins the first vetted address', async () => {
    const checked = await checkWebhookUrl('https://hooks.example.com/sluice?x=1', strict);
    expect(checked.url.href).toBe('https://hooks.example.com/sluice?x=1');
    expect(checked.address).toBe('93.184.216.34');
  });

  it.each([
    ['https://169.254.169.254/latest/meta-data/', '169.254.169.254 is a link-local address'],
    ['https://10.0.0.1/hook', '10.0.0.1 is a private address'],
    ['https://[::1]/hook', '[::1] is a loopback address'],
    ['https://0x7f.1/hook', '127.0.0.1 is a loopback address'],
    ['https://2130706433/hook', '127.0.0.1 is a loopback address'],
    ['https://[::ffff:169.254.169.254]/', 'IPv4-mapped form of 169.254.169.254'],
    ['https://localhost:8443/hook', 'internal host name'],
    ['https://metadata.google.internal/computeMetadata/v1/', 'internal host name'],
    ['https://intranet/hook', 'internal host name'],
    ['https://sneaky.example.com/hook', 'resolves to 127.0.0.1, a loopback address'],
    ['https://rebind.example.com/hook', 'resolves to ::ffff:10.0.0.1'],
    ['http://hooks.example.com/hook', 'plain http'],
    ['ftp://hooks.example.com/hook', 'scheme ftp: is not https'],
    ['https://user:pw@hooks.example.com/hook', 'credentials'],
  ])('refuses %s', async (url, reason) => {
    const error = await checkWebhookUrl(url, strict).then(
      () => undefined,
      (e: unknown) => e as { status: number; message: string; param: string },
    );
    expect(error?.status).toBe(400);
    expect(error?.param).toBe('url');
    expect(error?.message).toContain(reason);
    expect(error?.message).toContain('SLUICE_WEBHOOK_ALLOW_PRIVATE=1');
  });

  it('never resolves a literal address, and says when a name does not resolve', async () => {
    lookups.length = 0;
    await expect(checkWebhookUrl('https://10.0.0.1/', strict)).rejects.toThrow();
    expect(lookups).toEqual([]);
    await expect(checkWebhookUrl('https://nowhere.example.com/', strict)).rejects.toThrow(/does not resolve/);
    await expect(checkWebhookUrl('not a url', strict)).rejects.toThrow(/not a valid absolute URL/);
  });

  it('without a resolver (Workers) still refuses literals and internal names', async () => {
    const workers: UrlPolicy = { allowPrivate: false, resolveHost: undefined };
    await expect(checkWebhookUrl('https://[::ffff:a9fe:a9fe]/', workers)).rejects.toThrow(/169\.254\.169\.254/);
    expect((await checkWebhookUrl('https://hooks.example.com/', workers)).address).toBeUndefined();
  });

  it('allow-private admits http and private targets (development)', async () => {
    const dev: UrlPolicy = { allowPrivate: true, resolveHost: strict.resolveHost };
    expect((await checkWebhookUrl('http://127.0.0.1:9999/hook', dev)).url.port).toBe('9999');
    await expect(checkWebhookUrl('ftp://127.0.0.1/', dev)).rejects.toThrow(/not https/);
  });
});
