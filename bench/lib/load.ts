// Closed-loop load with autocannon, and what it cost the gateway process (CPU and memory).
import autocannon from 'autocannon';
import { cpuMs, sampleRss } from './proc';
import type { Target } from './probe';

export interface LoadResult {
  connections: number;
  rps: number;
  /** Answers received. */
  total: number;
  /** autocannon's latency percentiles, ms (1 ms resolution). */
  p50: number;
  p90: number;
  p99: number;
  /** Non-2xx answers, errors and timeouts. */
  bad: number;
  /** The measured process's CPU (user + system) per answer, ms; null without a process. */
  cpuMsPerReq: number | null;
  /** The measured process's largest RSS during the run, MB. */
  rssPeakMb: number | null;
}

/** `connections` connections, each sending its next request as soon as the last is answered, for `durationS`. */
export async function runLoad(target: Target, connections: number, durationS: number, pid?: number): Promise<LoadResult> {
  const cpuBefore = pid ? cpuMs(pid) : 0;
  const rss = pid ? sampleRss(pid) : undefined;
  const result = await autocannon({
    url: target.url,
    method: 'POST',
    headers: target.headers,
    body: target.body,
    connections,
    duration: durationS,
    timeout: 30,
  });
  const rssPeakMb = rss ? rss.stop() : null;
  const total = result.requests.total;
  return {
    connections,
    rps: total / (result.duration || durationS),
    total,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    bad: result.non2xx + result.errors + result.timeouts,
    cpuMsPerReq: pid && total ? (cpuMs(pid) - cpuBefore) / total : null,
    rssPeakMb,
  };
}
