/**
 * Standard Webhooks symmetric signatures (https://www.standardwebhooks.com): the secret is
 * `whsec_` + base64 of 24-64 random bytes; the signature is `v1,` + base64(HMAC-SHA256(key,
 * "{webhook-id}.{webhook-timestamp}.{body}")). WebCrypto only, so it runs on Node and Workers.
 */

export const SECRET_PREFIX = 'whsec_';
const MIN_SECRET_BYTES = 24;
const MAX_SECRET_BYTES = 64;

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

export function generateSecret(): string {
  return SECRET_PREFIX + toBase64(crypto.getRandomValues(new Uint8Array(32)));
}

/** The HMAC key of a `whsec_` secret, or a reason it is not one. */
export function secretKey(secret: string): Uint8Array | string {
  if (!secret.startsWith(SECRET_PREFIX)) return `secrets start with "${SECRET_PREFIX}"`;
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0) return `after "${SECRET_PREFIX}" comes standard base64`;
  const binary = atob(encoded);
  if (binary.length < MIN_SECRET_BYTES || binary.length > MAX_SECRET_BYTES) {
    return `the secret must decode to ${MIN_SECRET_BYTES}-${MAX_SECRET_BYTES} bytes (got ${binary.length})`;
  }
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** The `webhook-signature` header value for one message. */
export async function signMessage(secret: string, id: string, timestampS: number, body: string): Promise<string> {
  const key = secretKey(secret);
  if (typeof key === 'string') throw new Error(`invalid webhook secret: ${key}`);
  const hmacKey = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = await crypto.subtle.sign('HMAC', hmacKey, new TextEncoder().encode(`${id}.${timestampS}.${body}`));
  return `v1,${toBase64(new Uint8Array(mac))}`;
}
