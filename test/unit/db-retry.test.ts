import { describe, expect, it } from 'vitest';
import { isBusy, retryWhileBusy } from '../../src/db/client';

const busy = Object.assign(new Error('SQLITE_BUSY: database is locked'), { code: 'SQLITE_BUSY', rawCode: 5 });

describe('retryWhileBusy', () => {
  it('tries again while the database is locked and returns the first success', async () => {
    let attempts = 0;
    const result = await retryWhileBusy(async () => {
      attempts++;
      if (attempts < 4) throw busy;
      return 'done';
    });
    expect(result).toBe('done');
    expect(attempts).toBe(4);
  });

  it('throws any other error at once', async () => {
    let attempts = 0;
    const failure = retryWhileBusy(async () => {
      attempts++;
      throw new Error('no such table: nope');
    });
    await expect(failure).rejects.toThrow('no such table');
    expect(attempts).toBe(1);
  });

  it('gives up with the busy error once it has waited the timeout', async () => {
    let attempts = 0;
    const failure = retryWhileBusy(async () => {
      attempts++;
      throw busy;
    }, 10);
    await expect(failure).rejects.toBe(busy);
    // Waits of 1, 2, 4 and 8 ms: the attempt after 15 ms of waiting is the last.
    expect(attempts).toBe(5);
  });

  it('knows busy by its code or by the extended result code', () => {
    expect(isBusy(busy)).toBe(true);
    expect(isBusy({ rawCode: 517 })).toBe(true); // SQLITE_BUSY_SNAPSHOT
    expect(isBusy({ code: 'SQLITE_CONSTRAINT', rawCode: 19 })).toBe(false);
    expect(isBusy(undefined)).toBe(false);
  });
});
