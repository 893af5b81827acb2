import { nextTurn } from '../util/turns';

/**
 * The requests the server is answering, counted from their arrival until their response is
 * written or abandoned. Shutdown waits for them; background work on the event loop (the ledger's
 * commits) waits for a gap between them, so that a request is not held up between its own turns.
 */
export class RequestsInFlight {
  private active = 0;
  private readonly waiters = new Set<() => void>();

  begin(): void {
    this.active++;
  }

  end(): void {
    this.active--;
    if (this.active > 0) return;
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }

  /** Resolves when no request is in flight. */
  drained(): Promise<void> {
    return this.active === 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.add(resolve));
  }

  /**
   * Resolves at the next turn of the event loop that finds no request in flight, or after
   * `maxWaitMs` if requests keep the server busy that long: waiting work still gets a share of the
   * loop under sustained load, and with long-lived requests (streams, slow upstreams).
   */
  async gap(maxWaitMs: number): Promise<void> {
    const deadline = performance.now() + maxWaitMs;
    for (;;) {
      // I/O that is already pending first: a request that has arrived is counted once it is read.
      await nextTurn();
      const left = deadline - performance.now();
      if (this.active === 0 || left <= 0) return;
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          resolve();
        };
        // A waiter that times out is dropped: under sustained load the count may never reach zero.
        const timer = setTimeout(() => {
          this.waiters.delete(wake);
          resolve();
        }, left);
        this.waiters.add(wake);
      });
    }
  }
}
