import { TransportError } from '../providers/transport';

/**
 * Reads an upstream stream with an idle timeout: a read that waits longer than `ms` for the next
 * piece fails with a TransportError('timeout'). One timer serves the whole stream: it is checked
 * when it fires and re-armed for the rest of the wait, instead of a timer and a race per read
 * (streams have dozens of reads a second; the timeout is minutes). Time spent between reads,
 * while the caller is slow to take the next piece, does not count.
 */
export class IdleReader<T> {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readStartedAt = 0;
  private failRead: ((error: TransportError) => void) | undefined;

  constructor(
    private readonly iterator: AsyncIterator<T>,
    private readonly ms: number,
  ) {}

  next(): Promise<IteratorResult<T>> {
    return new Promise((resolve, reject) => {
      this.readStartedAt = performance.now();
      this.failRead = reject;
      if (this.timer === undefined) this.arm(this.ms);
      this.iterator.next().then(
        (result) => {
          this.failRead = undefined;
          resolve(result);
        },
        (error: unknown) => {
          this.failRead = undefined;
          reject(error);
        },
      );
    });
  }

  /** Releases the timer (the stream ended, failed or was abandoned). */
  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.failRead = undefined;
  }

  private arm(delay: number): void {
    this.timer = setTimeout(() => this.check(), delay);
  }

  private check(): void {
    this.timer = undefined;
    if (!this.failRead) return;
    const waited = performance.now() - this.readStartedAt;
    if (waited < this.ms) {
      this.arm(this.ms - waited);
      return;
    }
    const fail = this.failRead;
    this.failRead = undefined;
    fail(new TransportError('timeout', `the upstream stream was silent for ${this.ms} ms`));
  }
}
