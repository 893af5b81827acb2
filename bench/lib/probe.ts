// A microsecond latency probe over keep-alive node:http connections: the per-request latency
// and time-to-first-body-byte a client sees, which autocannon (1 ms resolution, closed loop)
// cannot show.
import http from 'node:http';

export interface Target {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface Answer {
  status: number;
  /** Request sent → last byte, µs. */
  us: number;
  /** Request sent → first body byte, µs. */
  ttfbUs: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request on `agent`; the body is kept only when `keepBody` (sanity checks). */
export function send(agent: http.Agent, target: Target, keepBody = false): Promise<Answer> {
  const url = new URL(target.url);
  if (url.hostname !== '127.0.0.1') throw new Error(`the benchmark only talks to loopback, not ${url.hostname}`);
  const payload = Buffer.from(target.body);
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    let first = 0n;
    const req = http.request(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers: { ...target.headers, 'content-length': payload.length } },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (chunk: Buffer) => {
          if (first === 0n) first = process.hrtime.bigint();
          if (keepBody) parts.push(chunk);
        });
        res.on('end', () => {
          const done = process.hrtime.bigint();
          resolve({
            status: res.statusCode ?? 0,
            us: Number(done - started) / 1000,
            ttfbUs: Number((first || done) - started) / 1000,
            headers: res.headers,
            body: Buffer.concat(parts).toString('utf8'),
          });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', reject);
    req.end(payload);
  });
}

export interface ProbeResult {
  /** Untimed warm-up requests sent first. */
  warmed: number;
  n: number;
  bad: number;
  latencyUs: number[];
  ttfbUs: number[];
}

export interface ProbeOptions {
  /** Requests to time (after `warmup` untimed ones). */
  n: number;
  warmup: number;
  /** Stop early after this long, ms. */
  maxMs: number;
  /** Connections, each with one request in flight at a time. */
  concurrency: number;
  /** Total requests per second over all connections (paced); unset = back to back. */
  ratePerS?: number;
}

/**
 * Sends requests over `concurrency` keep-alive connections and times each one. Back to back at
 * concurrency 1 it is the "added latency" probe; paced at a fixed total rate it shows what a
 * request pays when many connections are open but the gateway is not saturated.
 */
export async function probe(target: Target, options: ProbeOptions): Promise<ProbeResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
  try {
    const warmupUntil = Date.now() + Math.min(3000, options.maxMs);
    let warmed = 0;
    while (warmed < options.warmup && Date.now() < warmupUntil) {
      await send(agent, target);
      warmed++;
    }
    const latencyUs: number[] = [];
    const ttfbUs: number[] = [];
    let bad = 0;
    const started = Date.now();
    const interval = options.ratePerS ? (1000 * options.concurrency) / options.ratePerS : 0;
    const worker = async (index: number): Promise<void> => {
      let next = started + (interval * index) / options.concurrency;
      while (latencyUs.length < options.n && Date.now() - started < options.maxMs) {
        if (interval) {
          const wait = next - Date.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
          next += interval;
        }
        const answer = await send(agent, target);
        if (answer.status !== 200) bad++;
        latencyUs.push(answer.us);
        ttfbUs.push(answer.ttfbUs);
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, (_, i) => worker(i)));
    return { warmed, n: latencyUs.length, bad, latencyUs, ttfbUs };
  } finally {
    agent.destroy();
  }
}
