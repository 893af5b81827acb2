/**
 * Prompt-cache bookkeeping for the two models providers use:
 *
 *  - OpenAI caches automatically: a prompt of ≥1024 tokens is checkpointed every 128 tokens
 *    from 1024 on, and `cached_tokens` is the longest checkpoint a previous request (same
 *    scope) already produced, if it is still alive. (`TokenPrefixCache`, fed by `PrefixHasher`.)
 *  - Anthropic (and Bedrock's cachePoint) cache explicitly at breakpoints: an entry is written
 *    for the prefix ending at each breakpoint; a request reads the longest entry found at its
 *    breakpoints or up to 20 blocks before each of them, and writes the rest. (`BreakpointCache`.)
 *
 * Entries expire after a period of inactivity measured on the injected clock; reads refresh it.
 */

import { RollingHash, hash53 } from './hash';
import { scanTokens } from './tokenizer';

/** Receives a prompt as the model would see it, in order. */
export interface PromptSink {
  /** Ordinary text, tokenized with the sim's tokenizer. */
  text(text: string): void;
  /** `count` tokens that are not text (message framing, an image...), identified by `identity`. */
  special(identity: string, count: number): void;
}

/** Counts a prompt's tokens without keeping anything. */
export class TokenCounter implements PromptSink {
  tokens = 0;

  text(text: string): void {
    this.tokens += scanTokens(text);
  }

  special(_identity: string, count: number): void {
    this.tokens += count;
  }
}

export const OPENAI_CACHE_MIN_TOKENS = 1024;
const OPENAI_CACHE_INCREMENT = 128;

export interface PrefixCheckpoint {
  tokens: number;
  hash: number;
}

/** Hashes a prompt token by token and records the digest at each OpenAI cache checkpoint. */
export class PrefixHasher implements PromptSink {
  tokens = 0;
  readonly checkpoints: PrefixCheckpoint[] = [];
  private readonly hash = new RollingHash();
  private nextCheckpoint = OPENAI_CACHE_MIN_TOKENS;

  text(text: string): void {
    scanTokens(text, (start, end) => {
      this.hash.addString(text, start, end);
      this.addToken();
    });
  }

  special(identity: string, count: number): void {
    const code = hash53(identity) % 0x10_0000;
    for (let i = 0; i < count; i++) {
      this.hash.addCode(code);
      this.addToken();
    }
  }

  private addToken(): void {
    this.hash.addBoundary();
    this.tokens++;
    if (this.tokens === this.nextCheckpoint) {
      this.checkpoints.push({ tokens: this.tokens, hash: this.hash.digest() });
      this.nextCheckpoint += OPENAI_CACHE_INCREMENT;
    }
  }
}

interface CacheEntry {
  expiresAt: number;
  ttlMs: number;
}

/** Expiring entries keyed by scope and prefix hash. */
class ExpiringStore {
  private readonly entries = new Map<string, CacheEntry>();

  constructor(private readonly clock: () => number) {}

  /** The entry if alive; expired entries are dropped on sight. */
  live(key: string): CacheEntry | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.clock()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  put(key: string, ttlMs: number): void {
    if (this.entries.size > 100_000) this.sweep();
    this.entries.set(key, { expiresAt: this.clock() + ttlMs, ttlMs });
  }

  refresh(entry: CacheEntry): void {
    entry.expiresAt = this.clock() + entry.ttlMs;
  }

  clear(): void {
    this.entries.clear();
  }

  private sweep(): void {
    const now = this.clock();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
  }
}

export class TokenPrefixCache {
  private readonly store: ExpiringStore;

  constructor(clock: () => number) {
    this.store = new ExpiringStore(clock);
  }

  /** Returns the cached prefix length for these checkpoints, then stores (or refreshes) them all. */
  lookupAndStore(scope: string, checkpoints: readonly PrefixCheckpoint[], ttlMs: number): number {
    let cached = 0;
    for (let i = checkpoints.length - 1; i >= 0; i--) {
      const checkpoint = checkpoints[i] as PrefixCheckpoint;
      if (this.store.live(`${scope}\u0000${checkpoint.hash}`)) {
        cached = checkpoint.tokens;
        break;
      }
    }
    for (const checkpoint of checkpoints) this.store.put(`${scope}\u0000${checkpoint.hash}`, ttlMs);
    return cached;
  }

  clear(): void {
    this.store.clear();
  }
}

export type CacheTtl = '5m' | '1h';

const CACHE_TTL_MS: Record<CacheTtl, number> = { '5m': 5 * 60_000, '1h': 60 * 60_000 };

/** How far before a breakpoint the cache looks for an earlier entry, in blocks. */
const LOOKBACK_BLOCKS = 20;

/** One cacheable unit of a prompt (a tool, a system block, a message content block). */
export interface CacheBlock {
  tokens: number;
  /** Canonical content (including anything, like the role, that makes two blocks differ). */
  identity: string;
  /** Set when the block carries a cache breakpoint. */
  breakpoint: CacheTtl | null;
}

export interface BreakpointUsage {
  totalTokens: number;
  readTokens: number;
  write5mTokens: number;
  write1hTokens: number;
  /** total − read − writes: what Anthropic reports as `input_tokens`. */
  uncachedTokens: number;
}

/** Usage of a prompt that does not touch the cache. */
export function uncachedUsage(blocks: readonly CacheBlock[]): BreakpointUsage {
  const total = blocks.reduce((sum, block) => sum + block.tokens, 0);
  return { totalTokens: total, readTokens: 0, write5mTokens: 0, write1hTokens: 0, uncachedTokens: total };
}

export class BreakpointCache {
  private readonly store: ExpiringStore;

  constructor(clock: () => number) {
    this.store = new ExpiringStore(clock);
  }

  /**
   * Reads the longest live prefix reachable from the request's breakpoints and writes an entry at
   * every breakpoint beyond it whose prefix reaches `minTokens` (shorter ones are ignored, as the
   * providers do, without error). Write tokens are split by the TTL of the breakpoint that ends
   * each segment.
   */
  apply(scope: string, blocks: readonly CacheBlock[], minTokens: number): BreakpointUsage {
    const ends: number[] = [];
    const breakpoints: number[] = [];
    let total = 0;
    for (let i = 0; i < blocks.length; i++) {
      const block = blocks[i] as CacheBlock;
      total += block.tokens;
      ends.push(total);
      if (block.breakpoint) breakpoints.push(i);
    }
    if (breakpoints.length === 0) return uncachedUsage(blocks);

    const keys: string[] = [];
    const hasher = new RollingHash();
    for (const block of blocks) {
      hasher.addString(block.identity);
      hasher.addBoundary();
      keys.push(`${scope}\u0000${hasher.digest()}`);
    }

    let hit = -1;
    for (const breakpoint of breakpoints) {
      for (let i = breakpoint; i >= Math.max(0, breakpoint - LOOKBACK_BLOCKS) && i > hit; i--) {
        const entry = this.store.live(keys[i] as string);
        if (entry) {
          this.store.refresh(entry);
          hit = i;
          break;
        }
      }
    }
    const readTokens = hit >= 0 ? (ends[hit] as number) : 0;

    let written = readTokens;
    let write5mTokens = 0;
    let write1hTokens = 0;
    for (const breakpoint of breakpoints) {
      const end = ends[breakpoint] as number;
      const ttl = (blocks[breakpoint] as CacheBlock).breakpoint as CacheTtl;
      if (breakpoint <= hit || end < minTokens) continue;
      if (ttl === '1h') write1hTokens += end - written;
      else write5mTokens += end - written;
      written = end;
      this.store.put(keys[breakpoint] as string, CACHE_TTL_MS[ttl]);
    }
    return {
      totalTokens: total,
      readTokens,
      write5mTokens,
      write1hTokens,
      uncachedTokens: total - readTokens - write5mTokens - write1hTokens,
    };
  }

  clear(): void {
    this.store.clear();
  }
}
