import type { Clock } from '../deps';
import type { Db } from '../db/client';
import { sha256Hex } from '../util/ids';
import { findActiveKeyByHash, principalFromRow, type Principal } from './keys';

interface Entry {
  principal: Principal | null;
  expiresAt: number;
}

/**
 * Resolves a presented secret to its principal without a database round trip per request. The
 * cache is keyed by the presented secret itself, so a hit costs no hashing either (WebCrypto's
 * async SHA-256 is a large share of a request's CPU); the database only ever sees the hash. A
 * revocation on this instance takes effect at once (`forget`); on other instances sharing the
 * database within `ttlMs`. Unknown secrets are cached briefly too, so a client retrying a bad
 * key cannot hammer the database.
 */
export class KeyAuthenticator {
  private readonly cache = new Map<string, Entry>();

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly ttlMs = 30_000,
    private readonly negativeTtlMs = 2_000,
    private readonly maxEntries = 10_000,
  ) {}

  async authenticate(secret: string): Promise<Principal | null> {
    const now = this.clock.now();
    const cached = this.cache.get(secret);
    if (cached && cached.expiresAt > now) return cached.principal;
    const row = await findActiveKeyByHash(this.db, await sha256Hex(secret));
    const principal = row ? principalFromRow(row) : null;
    if (this.cache.size >= this.maxEntries) this.cache.clear();
    this.cache.set(secret, { principal, expiresAt: now + (principal ? this.ttlMs : this.negativeTtlMs) });
    return principal;
  }

  /** Drops every cached entry of a key (after revoke or update on this instance). */
  forget(keyId: string): void {
    for (const [secret, entry] of this.cache) {
      if (entry.principal?.keyId === keyId) this.cache.delete(secret);
    }
  }
}
