/**
 * IP address classification for the webhook SSRF guard. Pure, Web-standard: used on Node (for
 * literal hosts and every resolved address) and on Workers (literal hosts).
 */

/**
 * Parses an IPv4 address the way `inet_aton` and the WHATWG URL parser do: one to four parts,
 * each decimal, octal (leading 0) or hex (0x), the last part filling the remaining bytes — so
 * `2130706433`, `0x7f.1` and `0177.0.0.1` are all 127.0.0.1. Returns the 32-bit value.
 */
export function parseIPv4(host: string): number | undefined {
  const parts = host.endsWith('.') ? host.slice(0, -1).split('.') : host.split('.');
  if (parts.length === 0 || parts.length > 4) return undefined;
  const values: number[] = [];
  for (const part of parts) {
    let value: number;
    if (/^0x[0-9a-f]*$/i.test(part)) value = part.length === 2 ? 0 : parseInt(part.slice(2), 16);
    else if (/^0[0-7]*$/.test(part)) value = parseInt(part, 8);
    else if (/^[1-9][0-9]*$/.test(part)) value = parseInt(part, 10);
    else return undefined;
    values.push(value);
  }
  const last = values.pop()!;
  if (values.some((v) => v > 255)) return undefined;
  if (last >= 2 ** (8 * (4 - values.length))) return undefined;
  let address = 0;
  values.forEach((v, i) => {
    address += v * 2 ** (8 * (3 - i));
  });
  return address + last;
}

export function formatIPv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** Parses an IPv6 address (no brackets, no zone) into eight 16-bit groups; accepts an embedded dotted IPv4 tail. */
export function parseIPv6(host: string): number[] | undefined {
  let text = host;
  const lastColon = text.lastIndexOf(':');
  const v4Tail = text.slice(lastColon + 1);
  if (lastColon !== -1 && v4Tail.includes('.')) {
    const v4 = /^\d{1,3}(\.\d{1,3}){3}$/.test(v4Tail) ? parseIPv4(v4Tail) : undefined;
    if (v4 === undefined) return undefined;
    text = `${text.slice(0, lastColon + 1)}${Math.floor(v4 / 65536).toString(16)}:${(v4 % 65536).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (s: string): number[] | undefined => {
    if (s === '') return [];
    const groups: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-f]{1,4}$/i.test(g)) return undefined;
      groups.push(parseInt(g, 16));
    }
    return groups;
  };
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  if (!head || !rest) return undefined;
  const total = head.length + rest.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return undefined;
  return [...head, ...new Array<number>(8 - total).fill(0), ...rest];
}

interface Range {
  base: number;
  bits: number;
  what: string;
}

const v4 = (dotted: string, bits: number, what: string): Range => ({ base: parseIPv4(dotted)!, bits, what });

/** IPv4 ranges a webhook must never reach (RFC 6890 special-purpose registry, plus shared and reserved space). */
const BLOCKED_V4: Range[] = [
  v4('0.0.0.0', 8, 'a "this network" address'),
  v4('10.0.0.0', 8, 'a private address'),
  v4('100.64.0.0', 10, 'a carrier-grade NAT (shared) address'),
  v4('127.0.0.0', 8, 'a loopback address'),
  v4('169.254.0.0', 16, 'a link-local address (cloud metadata services live here)'),
  v4('172.16.0.0', 12, 'a private address'),
  v4('192.0.0.0', 24, 'an IETF protocol address'),
  v4('192.0.2.0', 24, 'a documentation address'),
  v4('192.88.99.0', 24, 'a 6to4 relay address'),
  v4('192.168.0.0', 16, 'a private address'),
  v4('198.18.0.0', 15, 'a benchmarking address'),
  v4('198.51.100.0', 24, 'a documentation address'),
  v4('203.0.113.0', 24, 'a documentation address'),
  v4('224.0.0.0', 4, 'a multicast address'),
  v4('240.0.0.0', 4, 'a reserved address'),
];

/** Why an IPv4 address is not a public unicast address, or undefined when it is. */
export function blockedIPv4(address: number): string | undefined {
  for (const range of BLOCKED_V4) {
    const size = 2 ** (32 - range.bits);
    if (Math.floor(address / size) === Math.floor(range.base / size)) return range.what;
  }
  return undefined;
}

function prefixMatches(groups: number[], prefix: number[], bits: number): boolean {
  for (let i = 0; i < 8 && bits > 0; i++, bits -= 16) {
    const mask = bits >= 16 ? 0xffff : (0xffff << (16 - bits)) & 0xffff;
    if ((groups[i]! & mask) !== ((prefix[i] ?? 0) & mask)) return false;
  }
  return true;
}

const embedded = (high: number, low: number): number => high * 65536 + low;

/** Why an IPv6 address is not a public unicast address (embedded IPv4 forms are judged by their IPv4), or undefined. */
export function blockedIPv6(groups: number[]): string | undefined {
  const [g0 = 0, g1 = 0, g2 = 0, , , , g6 = 0, g7 = 0] = groups;
  if (groups.every((g) => g === 0)) return 'the unspecified address';
  if (prefixMatches(groups, [0, 0, 0, 0, 0, 0, 0, 1], 128)) return 'a loopback address';
  const embeddedV4 = (value: number, form: string): string | undefined => {
    const reason = blockedIPv4(value);
    return reason ? `${form} of ${formatIPv4(value)}, ${reason}` : undefined;
  };
  // ::ffff:a.b.c.d (mapped), ::ffff:0:a.b.c.d (translated), ::a.b.c.d (compatible), 64:ff9b::a.b.c.d (NAT64).
  if (prefixMatches(groups, [0, 0, 0, 0, 0, 0xffff], 96)) return embeddedV4(embedded(g6, g7), 'an IPv4-mapped form');
  if (prefixMatches(groups, [0, 0, 0, 0, 0xffff, 0], 96)) return embeddedV4(embedded(g6, g7), 'an IPv4-translated form');
  if (prefixMatches(groups, [0, 0, 0, 0, 0, 0], 96)) return embeddedV4(embedded(g6, g7), 'an IPv4-compatible form') ?? 'a deprecated IPv4-compatible address';
  if (prefixMatches(groups, [0x64, 0xff9b, 0, 0, 0, 0], 96)) return embeddedV4(embedded(g6, g7), 'a NAT64 form');
  if (prefixMatches(groups, [0x64, 0xff9b, 1], 48)) return 'a local-use NAT64 address';
  if (prefixMatches(groups, [0x2002], 16)) return embeddedV4(embedded(g1, g2), 'a 6to4 form');
  if (prefixMatches(groups, [0x100, 0, 0, 0], 64)) return 'a discard-only address';
  if (prefixMatches(groups, [0x2001, 0], 32)) return 'a Teredo tunnel address';
  if (prefixMatches(groups, [0x2001, 0xdb8], 32)) return 'a documentation address';
  if ((g0 & 0xfe00) === 0xfc00) return 'a unique-local (private) address';
  if ((g0 & 0xffc0) === 0xfe80) return 'a link-local address';
  if ((g0 & 0xffc0) === 0xfec0) return 'a site-local address';
  if ((g0 & 0xff00) === 0xff00) return 'a multicast address';
  return undefined;
}

/** Why an IP literal (IPv4 in any inet_aton form, or IPv6 with or without brackets) is not public; undefined when public or not an IP. */
export function blockedAddress(literal: string): string | undefined {
  const bare = literal.startsWith('[') && literal.endsWith(']') ? literal.slice(1, -1) : literal;
  if (bare.includes(':')) {
    const groups = parseIPv6(bare);
    return groups ? blockedIPv6(groups) : undefined;
  }
  const value = parseIPv4(bare);
  return value === undefined ? undefined : blockedIPv4(value);
}

/** Whether the host is an IP literal (so no name resolution applies). */
export function isIPLiteral(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return bare.includes(':') ? parseIPv6(bare) !== undefined : parseIPv4(bare) !== undefined;
}
