import type { LedgerWriter, SqlStatement } from '../ledger/writer';

/**
 * Rows kept in memory on the request path and written in the ledger writer's next batch, in the
 * same transaction as its events (no database round trip of their own). Each entry holds the
 * row's latest value and its statement must be idempotent (an absolute value, or a max), because
 * a batch that failed ambiguously is retried: what a batch took is kept until it commits, and if
 * it does not, goes out again unless a newer value replaced it.
 */
export class FlushBuffer<T> {
  private pending = new Map<string, T>();
  private inflight: Map<string, T> | undefined;

  constructor(private readonly statement: (value: T) => SqlStatement) {}

  set(key: string, value: T): void {
    this.pending.set(key, value);
  }

  /** Registers with the ledger writer: statements with each batch, forgotten once it commits. */
  attach(ledger: LedgerWriter): void {
    ledger.addFlushHook(() => this.take());
    ledger.onCommit(() => {
      this.inflight = undefined;
    });
  }

  private take(): SqlStatement[] {
    if (this.inflight) {
      for (const [key, value] of this.inflight) if (!this.pending.has(key)) this.pending.set(key, value);
    }
    this.inflight = this.pending;
    this.pending = new Map();
    return [...this.inflight.values()].map(this.statement);
  }
}
