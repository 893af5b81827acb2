import type { Db } from '../db/client';
import { initSetting, readSetting } from '../db/settings';
import { randomSecret, sha256Hex } from '../util/ids';

const ADMIN_KEY_SETTING = 'admin_key_sha256';

/**
 * Resolves the admin key's hash. A configured key wins. Otherwise the stored hash is used, and on
 * the very first start a key is generated, its hash stored, and the plaintext returned once so
 * the entry can print it; it is never stored or shown again.
 */
export async function resolveAdminKey(
  db: Db,
  configured: string | undefined,
  nowMs: number,
): Promise<{ hash: string; generated: string | undefined }> {
  if (configured) return { hash: await sha256Hex(configured), generated: undefined };
  const stored = await readSetting(db, ADMIN_KEY_SETTING);
  if (stored) return { hash: stored, generated: undefined };
  const generated = `sk-sluice-admin-${randomSecret(24)}`;
  const hash = await sha256Hex(generated);
  if (await initSetting(db, ADMIN_KEY_SETTING, hash, nowMs)) return { hash, generated };
  // Another instance generated one at the same moment; theirs stands.
  return { hash: (await readSetting(db, ADMIN_KEY_SETTING)) ?? hash, generated: undefined };
}
