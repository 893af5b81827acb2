import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IdleReader } from '../../src/gateway/idle-read';
import { TransportError } from '../../src/providers/transport';

/** An iterator whose reads the test completes by hand. */
function manualSource(): { iterator: AsyncIterator<string>; deliver(value: string): void; end(): void; reads(): number } {
  const waiting: Array<(result: IteratorResult<string>) => void> = [];
  let reads = 0;
  return {
    iterator: {
      next: () => {
        reads++;
        return new Promise((resolve) => waiting.push(resolve));
      },
    },
    deliver: (value) => waiting.shift()!({ value, done: false }),
    end: () => waiting.shift()!({ value: undefined, done: true }),
    reads: () => reads,
  };
}

describe('IdleReader', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('passes reads through while the upstream keeps talking', async () => {
    const source = manualSource();
    const reader = new IdleReader(source.iterator, 1000);
    for (const value of ['a', 'b', 'c']) {
      const next = reader.next();
      vi.advanceTimersByTime(900);
      source.deliver(value);
      await expect(next).resolves.toEqual({ value, done: false });
    }
    const last = reader.next();
    source.end();
    await expect(last).resolves.toEqual({ value: undefined, done: true });
    reader.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('fails a read that waits longer than the timeout', async () => {
    const source = manualSource();
    const reader = new IdleReader(source.iterator, 1000);
    const first = reader.next();
    source.deliver('a');
    await first;
    const silent = reader.next();
    vi.advanceTimersByTime(999);
    let settled = false;
    void silent.then(
      () => (settled = true),
      () => (settled = true),
    );
    await Promise.resolve();
    expect(settled).toBe(false);
    vi.advanceTimersByTime(1);
    const error = await silent.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as TransportError).kind).toBe('timeout');
    expect((error as TransportError).message).toBe('the upstream stream was silent for 1000 ms');
  });

  it('does not count the time the caller takes between reads', async () => {
    const source = manualSource();
    const reader = new IdleReader(source.iterator, 1000);
    const first = reader.next();
    source.deliver('a');
    await first;
    // The caller is slow to ask for more: longer than the timeout, but no read is waiting.
    vi.advanceTimersByTime(5000);
    const second = reader.next();
    vi.advanceTimersByTime(600);
    source.deliver('b');
    await expect(second).resolves.toEqual({ value: 'b', done: false });
    // A read that starts late in the timer's period gets the whole timeout.
    const third = reader.next();
    vi.advanceTimersByTime(900);
    source.deliver('c');
    await expect(third).resolves.toEqual({ value: 'c', done: false });
    expect(source.reads()).toBe(3);
    reader.stop();
  });

  it('uses one timer for the whole stream', async () => {
    const source = manualSource();
    const reader = new IdleReader(source.iterator, 60_000);
    for (let i = 0; i < 50; i++) {
      const next = reader.next();
      expect(vi.getTimerCount()).toBe(1);
      source.deliver(String(i));
      await next;
    }
    reader.stop();
    expect(vi.getTimerCount()).toBe(0);
  });
});
