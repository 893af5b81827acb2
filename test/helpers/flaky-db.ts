import type { Db } from '../../src/db/client';

/** Wraps a Db so that its client's batch() fails the next `failures` times, optionally after committing. */
export function flaky(db: Db, failures: { count: number; afterCommit?: boolean }): Db {
  const client = db.$client;
  const flakyClient = new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === 'batch') {
        return async (...args: Parameters<typeof client.batch>) => {
          if (failures.count > 0) {
            failures.count--;
            if (failures.afterCommit) await target.batch(...args);
            throw new Error('database is locked');
          }
          return target.batch(...args);
        };
      }
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
  return new Proxy(db, {
    get(target, prop, receiver) {
      return prop === '$client' ? flakyClient : (Reflect.get(target, prop, receiver) as unknown);
    },
  });
}
