import type { ProviderId } from '../../catalog/types';
import type { Deps } from '../../deps';
import { TransportError, type UpstreamRequest } from '../../providers/transport';
import type { ProviderAdapter } from '../../providers/types';

/**
 * A provider's batch API, reached through the injected transport like every upstream call.
 * Each item travels as one line whose id (`custom_id`) is the deferred item's id.
 */

export interface BatchLimits {
  maxItems: number;
  maxBytes: number;
}

/** What became of one line, read from the provider's results. */
export type LineOutcome =
  /** The upstream's answer body, as its synchronous API would have sent it. */
  | { kind: 'succeeded'; body: string }
  | { kind: 'errored'; status: number; code: string; message: string }
  | { kind: 'expired' }
  | { kind: 'cancelled' }
  /** Not run because the batch failed as a whole (not this line's fault): try again. */
  | { kind: 'retry'; code: string; message: string };

export interface PolledBatch {
  /** The provider's own status word. */
  status: string;
  /** Whether the provider has finished with it (results are final). */
  ended: boolean;
}

/** The job as a client sees it. */
export interface JobRef {
  id: string;
  /** When its submission began (epoch ms): a batch it created is no older. */
  sendingAt: number;
  itemCount: number;
  inputFileId: string | null;
}

export type BatchDeps = Pick<Deps, 'transport' | 'config'>;

export interface BatchClient {
  readonly provider: ProviderId;
  readonly limits: BatchLimits;
  /** One line of batch input for an item, from the body the chat adapter built. */
  line(customId: string, body: string): string;
  /**
   * Creates the provider batch from the job's lines and returns its id. `onInputFile` records an
   * uploaded input file first, so a retry after a failure does not upload it again.
   */
  create(deps: BatchDeps, job: JobRef, lines: readonly string[], onInputFile: (fileId: string) => Promise<void>): Promise<string>;
  /**
   * The batch an interrupted run may have created for this job, found in the provider's list;
   * `known` holds provider ids that other jobs already own.
   */
  findCreated(deps: BatchDeps, job: JobRef, known: ReadonlySet<string>): Promise<string | undefined>;
  poll(deps: BatchDeps, upstreamId: string): Promise<PolledBatch>;
  /** Every line's outcome once ended; `customIds` is the job's lines in input order. */
  results(deps: BatchDeps, upstreamId: string, customIds: readonly string[]): Promise<Map<string, LineOutcome>>;
  cancel(deps: BatchDeps, upstreamId: string): Promise<void>;
}

/** A batch API call that failed. `permanent` when retrying the same call cannot help. */
export class BatchApiError extends Error {
  override name = 'BatchApiError';
  constructor(
    readonly provider: ProviderId,
    /** The upstream's status, or 0 when it could not be reached. */
    readonly status: number,
    message: string,
  ) {
    super(message);
  }

  get permanent(): boolean {
    return this.status >= 400 && this.status < 500 && ![408, 409, 429].includes(this.status);
  }
}

/** Sends one batch API call; answers the body text of a 2xx, throws BatchApiError otherwise. */
export async function send(deps: BatchDeps, adapter: ProviderAdapter, request: Omit<UpstreamRequest, 'timeoutMs'>): Promise<string> {
  let status: number;
  let text: string;
  let headers: Record<string, string>;
  try {
    const response = await deps.transport({ ...request, timeoutMs: deps.config.upstreamTimeoutMs });
    status = response.status;
    headers = response.headers;
    text = await response.text();
  } catch (error) {
    if (error instanceof TransportError) throw new BatchApiError(adapter.id, 0, `${request.method} ${request.url}: ${error.message}`);
    throw error;
  }
  if (status >= 200 && status < 300) return text;
  const failure = adapter.parseError(status, text, headers);
  throw new BatchApiError(adapter.id, status, `${request.method} ${new URL(request.url).pathname} answered ${status} (${failure.type}): ${failure.message}`);
}

/** Parses JSON Lines, skipping blank lines. */
export function parseJsonl(text: string): unknown[] {
  const values: unknown[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    values.push(JSON.parse(line));
  }
  return values;
}

/** An upstream object read as a record (an answer that is not one throws, as malformed). */
export function asRecord(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${what} is not a JSON object`);
  return value as Record<string, unknown>;
}
