import type { BatchItem } from 'drizzle-orm/batch';
import type { LedgerWriter } from '../ledger/writer';

/**
 * Counters kept in memory on the request path and written in the ledger writer's next batch,
 * in the same transaction as its events (no database round trip of their own). What a batch
 * took is kept until that batch commits: if it fails, the next batch writes it again.
 */
export class FlushBuffer<T> {
  private pending = new Map<string, T>();
  private inflight: Map<string, T> | undefined;

  constructor(
    private readonly merge: (into: T, delta: T) => T,
    private readonly statement: (key: string, delta: T) => BatchItem<'sqlite'>,
  ) {}

  add(key: string, delta: T): void {
    const current = this.pending.get(key);
    this.pending.set(key, current === undefined ? delta : this.merge(current, delta));
  }

  /** Registers with the ledger writer: statements with each batch, forgotten once it commits. */
  attach(ledger: LedgerWriter): void {
    ledger.addFlushHook(() => this.take());
    ledger.onCommit(() => {
      this.inflight = undefined;
    });
  }

  private take(): BatchItem<'sqlite'>[] {
    if (this.inflight) {
      // The previous batch did not commit: its changes go out again with the newer ones.
      for (const [key, delta] of this.inflight) {
        const newer = this.pending.get(key);
        this.pending.set(key, newer === undefined ? delta : this.merge(delta, newer));
      }
    }
    this.inflight = this.pending;
    this.pending = new Map();
    return [...this.inflight].map(([key, delta]) => this.statement(key, delta));
  }
}
