import type { MiddlewareHandler } from 'hono';
import type { AppEnv, Protocol } from './types';

/** Marks the routes after it as speaking `protocol`, so errors (including auth) are rendered in it. */
export function speaks(protocol: Protocol): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set('protocol', protocol);
    await next();
  };
}
