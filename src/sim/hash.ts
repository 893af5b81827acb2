/**
 * Fast, non-cryptographic hashing and seeded randomness. Everything the sim "decides" (answer
 * length, words, tool arguments, ids) comes from these, so the same request always gets the
 * same answer without any per-request crypto on the hot path.
 */

/** 53-bit string hash (cyrb53): safe as a JS number, collisions negligible for a test server. */
export function hash53(text: string, seed = 0): number {
  const state = new RollingHash(seed);
  state.addString(text);
  return state.digest();
}

/**
 * Incremental 53-bit hash whose digest can be read at any point without disturbing the state,
 * so a prompt can be hashed once while recording the digest at every prefix checkpoint.
 */
export class RollingHash {
  private h1: number;
  private h2: number;

  constructor(seed = 0) {
    this.h1 = 0xdeadbeef ^ seed;
    this.h2 = 0x41c6ce57 ^ seed;
  }

  addCode(code: number): void {
    this.h1 = Math.imul(this.h1 ^ code, 2654435761);
    this.h2 = Math.imul(this.h2 ^ code, 1597334677);
  }

  addString(text: string, start = 0, end = text.length): void {
    for (let i = start; i < end; i++) this.addCode(text.charCodeAt(i));
  }

  /** Adds a separator so that ["ab","c"] and ["a","bc"] hash differently. */
  addBoundary(): void {
    this.addCode(0x1f_0000);
  }

  digest(): number {
    let h1 = Math.imul(this.h1 ^ (this.h1 >>> 16), 2246822507);
    h1 ^= Math.imul(this.h2 ^ (this.h2 >>> 13), 3266489909);
    let h2 = Math.imul(this.h2 ^ (this.h2 >>> 16), 2246822507);
    h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    return 4294967296 * (2097151 & h2) + (h1 >>> 0);
  }
}

/** Small seeded PRNG (splitmix32): deterministic sequences from a hash. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    // Fold the 53-bit seed into 32 bits without losing the high part.
    this.state = (seed ^ Math.floor(seed / 4294967296)) >>> 0;
  }

  nextUint32(): number {
    this.state = (this.state + 0x9e3779b9) | 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** Integer in [0, bound). */
  below(bound: number): number {
    return bound <= 1 ? 0 : this.nextUint32() % bound;
  }

  /** Integer in [min, max] (inclusive). */
  between(min: number, max: number): number {
    return max <= min ? min : min + this.below(max - min + 1);
  }

  /** Float in [0, 1). */
  fraction(): number {
    return this.nextUint32() / 4294967296;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.below(items.length)];
    if (item === undefined) throw new Error('Rng.pick on an empty list');
    return item;
  }
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const HEX = '0123456789abcdef';

export function randomChars(rng: Rng, length: number, alphabet: 'base62' | 'hex' = 'base62'): string {
  const chars = alphabet === 'base62' ? BASE62 : HEX;
  let out = '';
  for (let i = 0; i < length; i++) out += chars[rng.below(chars.length)];
  return out;
}

/**
 * Ids shaped like each provider's (`chatcmpl-…`, `msg_01…`, `file-…`), unique per server and
 * reproducible: the n-th id of a kind is the same in every run that issues ids in the same order.
 */
export class IdFactory {
  private counter = 0;

  next(prefix: string, length: number, alphabet: 'base62' | 'hex' = 'base62'): string {
    this.counter += 1;
    return prefix + randomChars(new Rng(hash53(prefix, this.counter)), length, alphabet);
  }

  /** A UUID-shaped id (version 4 layout), as AWS request ids look. */
  uuid(): string {
    const hex = this.next('', 32, 'hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
  }

  reset(): void {
    this.counter = 0;
  }
}
