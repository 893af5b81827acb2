import type { InStatement, InValue } from '@libsql/client';
import { getTableColumns, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import type { Logger } from '../deps';
import type { Metrics } from '../ops/metrics';
import { nextTurn } from '../util/turns';
import { usageEvents } from './schema';

export type LedgerEvent = typeof usageEvents.$inferSelect;

/** Anything that renders to SQL, such as a drizzle query builder (`db.insert(...)...`). */
export interface SqlStatement {
  toSQL(): { sql: string; params: unknown[] };
}

/**
 * Extra statements committed in the same transaction as a batch of events (rollups, counters).
 * The hook sees only events that are not in the ledger yet: after a failed flush, whose commit may
 * have gone through anyway, the retry leaves out the events that did commit (and so had their
 * hooks' statements committed with them), so a hook that adds its events up never counts one twice.
 */
export type FlushHook = (events: readonly LedgerEvent[]) => SqlStatement[];
/** Called after a batch of events is committed. */
export type CommitListener = (events: readonly LedgerEvent[]) => void;

/** Runs statements as one write transaction. */
export type LedgerCommit = (statements: InStatement[]) => Promise<unknown>;

export interface LedgerWriterOptions {
  flushIntervalMs: number;
  maxBatch: number;
  defer(promise: Promise<unknown>): void;
  /** How batches are committed (Node with a local file: a connection that keeps its prepared statements); the database's own client otherwise. */
  commit?: LedgerCommit;
}

/** Rows per insert statement: a local commit gives the event loop a turn between statements, and 25 rows take about 0.3 ms. */
const ROWS_PER_INSERT = 25;

/**
 * The event insert is plain SQL with bound values: building it through the query builder costs
 * tens of microseconds per event, more than the rest of the request path.
 */
const COLUMNS = Object.entries(getTableColumns(usageEvents)).map(([property, column]) => ({ property: property as keyof LedgerEvent, name: column.name }));
const ROW_PLACEHOLDERS = `(${COLUMNS.map(() => '?').join(',')})`;
const INSERT_PREFIX = `INSERT INTO usage_events (${COLUMNS.map((c) => `"${c.name}"`).join(',')}) VALUES `;

function insertEvents(events: readonly LedgerEvent[]): InStatement {
  const args: InValue[] = [];
  for (const event of events) {
    for (const column of COLUMNS) {
      const value = event[column.property];
      args.push(typeof value === 'boolean' ? (value ? 1 : 0) : value);
    }
  }
  return { sql: `${INSERT_PREFIX}${events.map(() => ROW_PLACEHOLDERS).join(',')} ON CONFLICT DO NOTHING`, args };
}

function toStatement(statement: SqlStatement): InStatement {
  const { sql, params } = statement.toSQL();
  return { sql, args: params as InValue[] };
}
const MAX_BACKOFF_MS = 30_000;
const CLOSE_ATTEMPTS = 5;

/**
 * The buffered ledger writer: the request path only appends to memory; events are committed in
 * batches, one transaction each, on an interval, when the batch is full, and on shutdown. A
 * failed flush puts its events back and retries with backoff; inserts ignore ids already
 * written, so a retry after an ambiguous failure cannot duplicate an event.
 */
export class LedgerWriter {
  private buffer: LedgerEvent[] = [];
  private flushing: Promise<void> | undefined;
  private nextFlush: Promise<void> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Resolves the deferred promise of the scheduled flush, so nothing waits on a cleared timer. */
  private fireTimer: (() => void) | undefined;
  private flushQueued = false;
  private failures = 0;
  private closed = false;
  private readonly hooks: FlushHook[] = [];
  private readonly listeners: CommitListener[] = [];
  private readonly commitStatements: LedgerCommit;
  /** The commit (with its listeners) or `betweenCommits` read under way: they run one at a time. */
  private turn: Promise<void> | undefined;

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    private readonly options: LedgerWriterOptions,
  ) {
    this.commitStatements = options.commit ?? ((statements) => db.$client.batch(statements, 'write'));
  }

  get depth(): number {
    return this.buffer.length;
  }

  addFlushHook(hook: FlushHook): void {
    this.hooks.push(hook);
  }

  onCommit(listener: CommitListener): void {
    this.listeners.push(listener);
  }

  /**
   * Runs `read` while no commit is under way: it starts after the commit in flight (and its
   * listeners) and holds back the next one until it is done. A reader that adds up committed rows
   * and then adds what listeners report afterwards (budget counters) so never counts a commit twice:
   * a batch is in the database before its listeners hear of it.
   */
  betweenCommits<T>(read: () => Promise<T>): Promise<T> {
    return this.oneAtATime(read);
  }

  add(event: LedgerEvent): void {
    this.buffer.push(event);
    if (this.closed) return;
    // A full batch is committed on the next turn of the event loop, not here: a local file commits
    // synchronously, and the request whose event filled the batch would wait for it before its
    // answer is sent. A flush under way writes the full batches behind its own (and the buffer
    // still holds the batch it is committing). While flushes are failing, the backoff stands.
    if (this.buffer.length >= this.options.maxBatch && this.failures === 0 && !this.flushing) this.flushSoon();
    else this.schedule(this.options.flushIntervalMs);
  }

  /** Flushes once the current turn of the event loop is done. */
  private flushSoon(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    this.options.defer(
      nextTurn().then(() => {
        this.flushQueued = false;
        return this.startFlush();
      }),
    );
  }

  /**
   * Commits events now, in one transaction with `alongside` (the state change they account for,
   * e.g. a deferred item marked as recorded) and the flush hooks; listeners run after. For work
   * off the request path that must not record an event without its state change, or twice.
   */
  async writeWith(events: readonly LedgerEvent[], alongside: readonly SqlStatement[]): Promise<void> {
    // A repeated call may carry events already written: they (and their hooks' work) are left out.
    const fresh = events.length > 0 ? await this.uncommitted(events) : events;
    const statements = [...this.statements(fresh), ...alongside.map(toStatement)];
    if (statements.length === 0) return;
    await this.oneAtATime(async () => {
      await this.commitStatements(statements);
      if (events.length === 0) return;
      this.metrics.ledgerEventsWritten.inc({}, events.length);
      this.notify(events);
    });
  }

  /** Runs `work` once no other commit or `betweenCommits` read is under way. */
  private async oneAtATime<T>(work: () => Promise<T>): Promise<T> {
    while (this.turn) await this.turn;
    const result = work();
    const turn = result.then(
      () => undefined,
      () => undefined,
    );
    this.turn = turn;
    try {
      return await result;
    } finally {
      if (this.turn === turn) this.turn = undefined;
    }
  }

  /**
   * Writes everything buffered now. A flush under way owes only what was buffered when it began,
   * so a call during one waits for one more after it (shared by every such call).
   */
  flush(): Promise<void> {
    if (!this.flushing) return this.startFlush();
    this.nextFlush ??= this.flushing.then(() => {
      this.nextFlush = undefined;
      return this.flush();
    });
    return this.nextFlush;
  }

  /** A flush for a trigger (a full batch, the interval): it joins one under way, and what that does not owe waits for the next trigger. */
  private startFlush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  /** Stops scheduling and writes what is left; gives up only after repeated database failures. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.fireTimer?.();
    for (let attempt = 0; attempt < CLOSE_ATTEMPTS && this.buffer.length > 0; attempt++) {
      await this.flush();
      if (this.buffer.length > 0) await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempt));
    }
    await this.flush();
    if (this.buffer.length > 0) {
      // Last resort: the events go to the log so an operator can replay them.
      this.logger.error('ledger: database unavailable at shutdown; unwritten events follow', { events: this.buffer });
    }
  }

  private schedule(delayMs: number): void {
    if (this.timer || this.closed) return;
    const fired = new Promise<void>((resolve) => {
      this.fireTimer = resolve;
    });
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.fireTimer?.();
    }, delayMs);
    this.options.defer(fired.then(() => this.startFlush()));
  }

  /**
   * Writes what was buffered when the flush began, and any full batches behind it. Events that
   * arrive while a batch commits (a local commit gives the event loop turns) wait for their own
   * trigger, a full batch or the interval: a commit is not chased by a trickle of tiny ones.
   */
  private async drain(): Promise<void> {
    let owed = this.buffer.length;
    for (let first = true; owed > 0 || this.buffer.length >= this.options.maxBatch; first = false) {
      // Between batches the event loop takes a turn, its I/O first: requests are served while a backlog drains.
      if (!first) await nextTurn();
      const batch = this.buffer.slice(0, this.options.maxBatch);
      try {
        await this.oneAtATime(async () => {
          await this.commit(batch);
          this.failures = 0;
          this.buffer = this.buffer.slice(batch.length);
          owed -= batch.length;
          this.metrics.ledgerEventsWritten.inc({}, batch.length);
          this.notify(batch);
        });
      } catch (error) {
        this.failures++;
        this.metrics.ledgerFlushFailures.inc();
        this.logger.warn('ledger: flush failed, will retry', { events: batch.length, error: (error as Error).message });
        this.schedule(Math.min(MAX_BACKOFF_MS, this.options.flushIntervalMs * 2 ** this.failures));
        return;
      }
    }
  }

  private notify(events: readonly LedgerEvent[]): void {
    for (const listener of this.listeners) {
      try {
        listener(events);
      } catch (error) {
        this.logger.error('ledger: commit listener failed', { error: (error as Error).message });
      }
    }
  }

  /** The inserts for a batch of events plus the flush hooks' statements. */
  private statements(batch: readonly LedgerEvent[]): InStatement[] {
    const statements: InStatement[] = [];
    for (let i = 0; i < batch.length; i += ROWS_PER_INSERT) statements.push(insertEvents(batch.slice(i, i + ROWS_PER_INSERT)));
    if (batch.length > 0) for (const hook of this.hooks) statements.push(...hook(batch).map(toStatement));
    return statements;
  }

  /** The events of `batch` that are not in the ledger (one indexed lookup). */
  private async uncommitted(batch: readonly LedgerEvent[]): Promise<readonly LedgerEvent[]> {
    const ids = JSON.stringify(batch.map((e) => e.id));
    const found = await this.db.all<{ id: string }>(sql`SELECT id FROM usage_events WHERE id IN (SELECT value FROM json_each(${ids}))`);
    if (found.length === 0) return batch;
    const committed = new Set(found.map((row) => row.id));
    return batch.filter((e) => !committed.has(e.id));
  }

  private async commit(batch: LedgerEvent[]): Promise<void> {
    // Only after a failure can some of the batch be written already (the commit went through but
    // its answer was lost); the lookup is skipped otherwise.
    const statements = this.statements(this.failures > 0 ? await this.uncommitted(batch) : batch);
    if (statements.length === 0) return;
    // One batch is one transaction: the events and their hooks' statements commit together.
    await this.commitStatements(statements);
  }
}
