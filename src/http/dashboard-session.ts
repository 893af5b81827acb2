import type { Context } from 'hono';
import { deleteCookie, getSignedCookie, setSignedCookie } from 'hono/cookie';
import { initSetting, readSetting } from '../db/settings';
import type { Services } from '../gateway/services';
import { randomSecret, sha256Hex, timingSafeEqual } from '../util/ids';
import { presentedKey } from './auth';
import type { AppEnv } from './types';

/**
 * The dashboard's sign-in: the admin key as a bearer header (scripts), or a session cookie set by
 * the dashboard's own form (browsers, which cannot send a header from a link). The cookie holds
 * its expiry, signed (HMAC-SHA256) with a random per-database secret combined with the admin
 * key's hash, so changing the admin key ends every session. HttpOnly, SameSite=Strict (no other
 * site can make the browser send it), Secure when served over https, scoped to /dashboard.
 */

const COOKIE = 'sluice_dashboard';
const SECRET_SETTING = 'dashboard.session_secret';
const SESSION_TTL_MS = 12 * 3_600_000;

const secrets = new WeakMap<Services, Promise<string>>();

function signingSecret(services: Services): Promise<string> {
  let secret = secrets.get(services);
  if (!secret) {
    const { db, clock } = services.deps;
    secret = (async () => {
      await initSetting(db, SECRET_SETTING, randomSecret(32), clock.now());
      const stored = await readSetting(db, SECRET_SETTING);
      if (!stored) throw new Error('dashboard session secret missing after initialisation');
      return `${stored}:${services.adminKeyHash}`;
    })();
    secret.catch(() => secrets.delete(services));
    secrets.set(services, secret);
  }
  return secret;
}

function isHttps(c: Context<AppEnv>): boolean {
  return new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';
}

/** How the request is signed in to the dashboard, if it is. */
export async function dashboardAuth(c: Context<AppEnv>): Promise<'bearer' | 'cookie' | undefined> {
  const services = c.var.services;
  const authorization = c.req.header('authorization');
  if (authorization) {
    const secret = presentedKey((name) => c.req.header(name));
    return secret && timingSafeEqual(await sha256Hex(secret), services.adminKeyHash) ? 'bearer' : undefined;
  }
  const value = await getSignedCookie(c, await signingSecret(services), COOKIE);
  if (typeof value !== 'string') return undefined;
  const expires = Number(value);
  return Number.isSafeInteger(expires) && expires > services.deps.clock.now() ? 'cookie' : undefined;
}

/** Checks an admin key typed into the sign-in form and, when right, starts a session. */
export async function signIn(c: Context<AppEnv>, adminKey: string): Promise<boolean> {
  const services = c.var.services;
  if (!timingSafeEqual(await sha256Hex(adminKey.trim()), services.adminKeyHash)) return false;
  const expires = services.deps.clock.now() + SESSION_TTL_MS;
  await setSignedCookie(c, COOKIE, String(expires), await signingSecret(services), {
    path: '/dashboard',
    httpOnly: true,
    sameSite: 'Strict',
    secure: isHttps(c),
    maxAge: SESSION_TTL_MS / 1000,
  });
  return true;
}

export function signOut(c: Context<AppEnv>): void {
  deleteCookie(c, COOKIE, { path: '/dashboard', httpOnly: true, sameSite: 'Strict', secure: isHttps(c) });
}
