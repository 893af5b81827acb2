/**
 * Hashing for the caches. The response cache keys entries by SHA-256 (WebCrypto) of canonical
 * JSON; prompt-cache bookkeeping needs many prefix digests while a request body is being built,
 * synchronously, so it uses a fast 53-bit streaming hash instead (identity, not security).
 */

/** JSON with object keys sorted at every level and undefined members left out: equal values, equal text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  const record = value as Record<string, unknown>;
  const members: string[] = [];
  for (const name of Object.keys(record).sort()) {
    const member = record[name];
    if (member !== undefined) members.push(`${JSON.stringify(name)}:${canonicalJson(member)}`);
  }
  return `{${members.join(',')}}`;
}

/**
 * A streaming 53-bit hash (cyrb53's mixing, fed incrementally) whose digest can be read at any
 * point without ending the stream: the digest after each prompt block names that prefix.
 */
export class PrefixHash {
  private h1: number;
  private h2: number;

  constructor(seed = '') {
    this.h1 = 0xdeadbeef;
    this.h2 = 0x41c6ce57;
    this.update(seed);
    this.update('\u0000');
  }

  update(text: string): this {
    let h1 = this.h1;
    let h2 = this.h2;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      h1 = Math.imul(h1 ^ code, 2654435761);
      h2 = Math.imul(h2 ^ code, 1597334677);
    }
    this.h1 = h1;
    this.h2 = h2;
    return this;
  }

  /** The digest of everything fed so far, as 14 hex digits. */
  digest(): string {
    let h1 = Math.imul(this.h1 ^ (this.h1 >>> 16), 2246822507);
    h1 ^= Math.imul(this.h2 ^ (this.h2 >>> 13), 3266489909);
    let h2 = Math.imul(this.h2 ^ (this.h2 >>> 16), 2246822507);
    h2 ^= Math.imul(this.h1 ^ (this.h1 >>> 13), 3266489909);
    const value = 4294967296 * (2097151 & h2) + (h1 >>> 0);
    return value.toString(16).padStart(14, '0');
  }
}
