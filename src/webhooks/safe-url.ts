import { SluiceError } from '../errors';
import { blockedAddress, isIPLiteral } from './addresses';

/** Resolves a host name to its addresses. Node injects one (node:dns); Workers has none and relies on literal checks. */
export type ResolveHost = (hostname: string) => Promise<string[]>;

export interface UrlPolicy {
  /** SLUICE_WEBHOOK_ALLOW_PRIVATE: allow plain http and private, loopback and link-local targets (development). */
  allowPrivate: boolean;
  resolveHost: ResolveHost | undefined;
}

export interface CheckedUrl {
  url: URL;
  /** The vetted address to connect to (pinned, so a second DNS answer cannot point elsewhere). */
  address: string | undefined;
}

/** Names that only ever mean something inside a network: never a public webhook receiver. */
const INTERNAL_NAMES = /(^|\.)(localhost|localdomain|local|internal|intranet|lan|home\.arpa)$/i;

const HOW_TO_ALLOW = 'Webhooks go only to public https endpoints; set SLUICE_WEBHOOK_ALLOW_PRIVATE=1 to allow private addresses (development only).';

function refuse(raw: string, reason: string): SluiceError {
  return new SluiceError('invalid_request', `The webhook URL "${raw}" is not allowed: ${reason}. ${HOW_TO_ALLOW}`, { param: 'url' });
}

/**
 * The SSRF guard, applied when an endpoint is registered and again before every send: https only,
 * no credentials in the URL, and no private, loopback, link-local, metadata or otherwise
 * non-public address — as a literal in any notation (decimal, hex and octal IPv4; IPv6 including
 * IPv4-mapped forms) or, where a resolver is available, as any address the name resolves to.
 * Throws a 400-class SluiceError naming the reason; nothing is connected to.
 */
export async function checkWebhookUrl(raw: string, policy: UrlPolicy): Promise<CheckedUrl> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SluiceError('invalid_request', `The webhook URL "${raw}" is not a valid absolute URL (e.g. https://hooks.example.com/sluice).`, { param: 'url' });
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowPrivate)) {
    throw refuse(raw, url.protocol === 'http:' ? 'it is plain http' : `the scheme ${url.protocol} is not https`);
  }
  if (url.username || url.password) throw refuse(raw, 'it carries credentials; put a token in the path or rely on the signature instead');
  if (policy.allowPrivate) return { url, address: undefined };

  const host = url.hostname;
  if (isIPLiteral(host)) {
    const reason = blockedAddress(host);
    if (reason) throw refuse(raw, `${host} is ${reason}`);
    return { url, address: undefined };
  }
  const name = host.replace(/\.$/, '');
  if (!name.includes('.') || INTERNAL_NAMES.test(name)) throw refuse(raw, `"${host}" is an internal host name`);
  if (!policy.resolveHost) return { url, address: undefined };

  let addresses: string[];
  try {
    addresses = await policy.resolveHost(name);
  } catch (error) {
    throw new SluiceError('invalid_request', `The webhook URL "${raw}" cannot be used: its host "${host}" does not resolve (${(error as Error).message}).`, { param: 'url' });
  }
  if (addresses.length === 0) throw new SluiceError('invalid_request', `The webhook URL "${raw}" cannot be used: its host "${host}" has no addresses.`, { param: 'url' });
  for (const address of addresses) {
    const reason = blockedAddress(address);
    if (reason) throw refuse(raw, `"${host}" resolves to ${address}, ${reason}`);
  }
  return { url, address: addresses[0] };
}
