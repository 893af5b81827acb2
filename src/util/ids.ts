const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** Random bytes are drawn from the system in blocks: one getRandomValues call per id costs more than the rest of newId. */
const POOL_BYTES = 4096;
const pool = new Uint8Array(POOL_BYTES);
let poolOffset = POOL_BYTES;

/**
 * A prefixed, time-sortable id (ULID layout: 10 chars of milliseconds, 16 random chars), so ids
 * sort by creation time and make stable pagination cursors. Time comes from the caller's clock.
 */
export function newId(prefix: string, nowMs: number): string {
  let time = '';
  let t = Math.max(0, Math.floor(nowMs));
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  if (poolOffset + 16 > POOL_BYTES) {
    crypto.getRandomValues(pool);
    poolOffset = 0;
  }
  let random = '';
  for (let i = poolOffset; i < poolOffset + 16; i++) random += CROCKFORD[pool[i]! & 31]!;
  poolOffset += 16;
  return `${prefix}_${time}${random}`;
}

/** A random secret of `bytes` bytes, base64url-encoded. */
export function randomSecret(bytes = 24): string {
  const raw = crypto.getRandomValues(new Uint8Array(bytes));
  let binary = '';
  for (const byte of raw) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  let hex = '';
  for (const byte of new Uint8Array(digest)) hex += byte.toString(16).padStart(2, '0');
  return hex;
}

/** Compares two strings in time independent of where they first differ. */
export function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
