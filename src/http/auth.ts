import type { MiddlewareHandler } from 'hono';
import { SluiceError } from '../errors';
import { sha256Hex, timingSafeEqual } from '../util/ids';
import { requestHeader } from './raw';
import type { AppEnv } from './types';

/** The secret a caller presented: `Authorization: Bearer <key>` or `x-api-key: <key>`. */
export function presentedKey(header: (name: string) => string | undefined): string | undefined {
  const authorization = header('authorization');
  if (authorization) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match) return match[1];
  }
  return header('x-api-key')?.trim() || undefined;
}

/** Authenticates a Sluice key and sets the principal; 401 in the route's protocol otherwise. */
export const requireKey: MiddlewareHandler<AppEnv> = async (c, next) => {
  const secret = presentedKey((name) => requestHeader(c, name));
  if (!secret) {
    throw new SluiceError('unauthorized', 'No API key: send your Sluice key as "Authorization: Bearer sk-sluice-..." or "x-api-key: sk-sluice-...".');
  }
  const principal = await c.get('services').keys.authenticate(secret);
  if (!principal) throw new SluiceError('unauthorized', 'The API key is not a valid Sluice key, or it has been revoked.');
  c.set('principal', principal);
  await next();
};

/** Guards admin routes with the admin key (bearer header). */
export const requireAdmin: MiddlewareHandler<AppEnv> = async (c, next) => {
  const secret = presentedKey((name) => requestHeader(c, name));
  if (!secret) throw new SluiceError('unauthorized', 'Admin routes need the admin key: "Authorization: Bearer <SLUICE_ADMIN_KEY>".');
  if (!timingSafeEqual(await sha256Hex(secret), c.get('services').adminKeyHash)) {
    throw new SluiceError('unauthorized', 'The admin key is not valid.');
  }
  await next();
};
