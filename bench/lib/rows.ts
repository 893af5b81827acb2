// What one benchmark run records: one row per measurement, and the side measurements.
import type { LoadResult } from './load';

export type Mode = 'json' | 'sse';

interface Measured {
  /** The simulated upstream's fixed latency, ms. */
  upstreamMs: number;
  mode: Mode;
  arm: string;
  rep: number;
}

/** A microsecond probe: back to back on one connection, or paced over many. */
export interface ProbeRow extends Measured {
  kind: 'probe';
  concurrency: number;
  ratePerS: number | null;
  /** Whether a SCHED_IDLE busy loop per core kept the cores out of idle (proc.ts keepCoresBusy). */
  coresBusy: boolean;
  n: number;
  bad: number;
  p50: number;
  p90: number;
  p99: number;
  ttfbP50: number;
  ttfbP99: number;
  /** The arm's process (none for direct) over the probe, warm-up included, per request answered. */
  cpuMsPerReq: number | null;
  /** Times its event loop's thread was taken off a CPU while it could run, per request. */
  preemptedPerReq: number | null;
}

/** A closed-loop autocannon run. */
export interface LoadRow extends Measured, LoadResult {
  kind: 'load';
}

export interface LedgerCheck {
  arm: string;
  upstreamMs: number | 'streams';
  /** 2xx answers the benchmark's clients received from Sluice. */
  clientOk: number;
  /** Requests Sluice says it answered (sluice_requests_total). */
  metered: number;
  /** Rows in usage_events after a clean shutdown, by status. */
  rows: Record<string, number>;
}

export interface ArmInfo {
  upstreamMs: number;
  arm: string;
  rssIdleMb: number | null;
  rssEndMb: number | null;
}

export interface StreamMemory {
  streams: number;
  opened: number;
  rssBeforeMb: number;
  rssOpenMb: number;
  kbPerStream: number;
  mbPer1000: number;
}

export interface RunRecord {
  startedAt: string;
  command: string;
  machine: { cores: number; cpu: string; node: string; load: string };
  settings: Record<string, unknown>;
  sluice: { commit: string; requestModel: string; servedModel: string; upstreamModel: string; cacheHeader: string };
  peerVersions: Record<string, string> | null;
  rows: Array<ProbeRow | LoadRow>;
  arms: ArmInfo[];
  ledger: LedgerCheck[];
  streamMemory: StreamMemory | null;
  /** Output of the side benchmarks (bench/ledger.ts, scorer, reports), as they printed it. */
  side: Record<string, unknown>;
  notes: string[];
}
