// Renders a run as bench/RESULTS.md: medians [min–max] over repetitions, differences to the
// direct arm paired within each repetition, ratios computed within the run.
import type { LedgerCheck, LoadRow, Mode, ProbeRow, RunRecord } from './rows';
import { fixed, median, spread } from './stats';

type Row = ProbeRow | LoadRow;

const upstreamName = (ms: number): string => (ms === 0 ? 'instant upstream' : `upstream with ${ms} ms fixed latency`);

function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

class View {
  constructor(private readonly rows: readonly Row[]) {}

  probes(upstreamMs: number, mode: Mode, arm: string, concurrency: number, coresBusy = false): ProbeRow[] {
    return this.rows.filter(
      (r): r is ProbeRow => r.kind === 'probe' && r.upstreamMs === upstreamMs && r.mode === mode && r.arm === arm && r.concurrency === concurrency && r.coresBusy === coresBusy,
    );
  }

  loads(upstreamMs: number, mode: Mode, arm: string, connections: number): LoadRow[] {
    return this.rows.filter((r): r is LoadRow => r.kind === 'load' && r.upstreamMs === upstreamMs && r.mode === mode && r.arm === arm && r.connections === connections);
  }

  /** arm − direct per repetition (both measured within the same repetition). */
  static paired<R extends Row>(arm: R[], direct: R[], value: (r: R) => number | null): number[] {
    const out: number[] = [];
    for (const row of arm) {
      const base = direct.find((d) => d.rep === row.rep);
      const a = value(row);
      const b = base ? value(base) : null;
      if (a != null && b != null) out.push(a - b);
    }
    return out;
  }
}

function armsOf(rows: readonly Row[], upstreamMs: number): string[] {
  return [...new Set(rows.filter((r) => r.upstreamMs === upstreamMs).map((r) => r.arm))];
}

function probeTable(view: View, record: RunRecord, upstreamMs: number, concurrency: number, coresBusy = false): string {
  const out: string[][] = [];
  for (const mode of record.settings.modes as Mode[]) {
    const direct = view.probes(upstreamMs, mode, 'direct', concurrency, coresBusy);
    for (const arm of armsOf(record.rows, upstreamMs)) {
      const rows = view.probes(upstreamMs, mode, arm, concurrency, coresBusy);
      if (rows.length === 0) continue;
      const added = (pick: (r: ProbeRow) => number): string => (arm === 'direct' ? '' : spread(View.paired(rows, direct, pick), 0));
      out.push([
        mode,
        arm,
        spread(rows.map((r) => r.p50), 0),
        spread(rows.map((r) => r.p90), 0),
        spread(rows.map((r) => r.p99), 0),
        spread(rows.map((r) => r.ttfbP50), 0),
        added((r) => r.p50),
        added((r) => r.p99),
        added((r) => r.ttfbP50),
        spread(rows.map((r) => r.cpuMsPerReq), 3),
        spread(rows.map((r) => r.preemptedPerReq), 2),
        String(rows.reduce((a, r) => a + r.bad, 0)),
      ]);
    }
  }
  return table(['mode', 'arm', 'p50 µs', 'p90 µs', 'p99 µs', 'TTFB p50 µs', 'added p50 µs', 'added p99 µs', 'added TTFB p50 µs', 'CPU ms/req', 'preempted /req', 'non-200'], out);
}

function loadTable(view: View, record: RunRecord, upstreamMs: number): string {
  const out: string[][] = [];
  for (const mode of record.settings.modes as Mode[]) {
    for (const connections of record.settings.connections as number[]) {
      const direct = view.loads(upstreamMs, mode, 'direct', connections);
      for (const arm of armsOf(record.rows, upstreamMs)) {
        const rows = view.loads(upstreamMs, mode, arm, connections);
        if (rows.length === 0) continue;
        const isDirect = arm === 'direct';
        const ratio = isDirect ? [] : rows.map((r) => r.rps / (direct.find((d) => d.rep === r.rep)?.rps ?? Number.NaN));
        out.push([
          mode,
          String(connections),
          arm,
          spread(rows.map((r) => r.rps), 0),
          spread(rows.map((r) => r.p50), 0),
          spread(rows.map((r) => r.p90), 0),
          spread(rows.map((r) => r.p99), 0),
          isDirect ? '' : spread(View.paired(rows, direct, (r) => r.p50), 0),
          isDirect ? '' : spread(View.paired(rows, direct, (r) => r.p99), 0),
          isDirect ? '' : spread(ratio, 2),
          spread(rows.map((r) => r.cpuMsPerReq), 3),
          spread(rows.map((r) => r.rssPeakMb), 0),
          String(rows.reduce((a, r) => a + r.bad, 0)),
        ]);
      }
    }
  }
  return table(['mode', 'conns', 'arm', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'added p50 ms', 'added p99 ms', 'req/s ÷ direct', 'CPU ms/req', 'RSS peak MB', 'errors'], out);
}

function peerRatioTable(view: View, record: RunRecord, upstreamMs: number, peer: string): string | undefined {
  const arms = armsOf(record.rows, upstreamMs);
  if (!arms.includes(peer)) return undefined;
  const out: string[][] = [];
  for (const mode of record.settings.modes as Mode[]) {
    const addedP50 = (arm: string): number => median(View.paired(view.probes(upstreamMs, mode, arm, 1), view.probes(upstreamMs, mode, 'direct', 1), (r) => r.p50));
    for (const connections of record.settings.connections as number[]) {
      const ref = view.loads(upstreamMs, mode, peer, connections);
      for (const arm of arms) {
        if (arm === 'direct' || arm === peer) continue;
        const rows = view.loads(upstreamMs, mode, arm, connections);
        const perRep = (value: (r: LoadRow) => number | null): number[] =>
          rows.flatMap((r) => {
            const base = ref.find((p) => p.rep === r.rep);
            const a = value(r);
            const b = base ? value(base) : null;
            return a != null && b != null && b !== 0 ? [a / b] : [];
          });
        out.push([mode, String(connections), arm, spread(perRep((r) => r.cpuMsPerReq), 2), spread(perRep((r) => r.rps), 2), fixed(addedP50(arm) / addedP50(peer), 2)]);
      }
    }
  }
  return table(['mode', 'conns', 'arm', `CPU/req ÷ ${peer}`, `req/s ÷ ${peer}`, `added p50 (1 conn) ÷ ${peer}`], out);
}

function memoryTable(view: View, record: RunRecord, upstreamMs: number): string {
  const out: string[][] = [];
  const top = Math.max(...(record.settings.connections as number[]));
  for (const info of record.arms.filter((a) => a.upstreamMs === upstreamMs && a.arm !== 'direct')) {
    const peak = (record.settings.modes as Mode[]).flatMap((mode) => view.loads(upstreamMs, mode, info.arm, top).map((r) => r.rssPeakMb ?? 0));
    out.push([info.arm, fixed(info.rssIdleMb, 0), peak.length ? fixed(Math.max(...peak), 0) : '–', fixed(info.rssEndMb, 0)]);
  }
  return table(['arm', 'RSS idle MB', `RSS peak at ${top} conns MB`, 'RSS at end MB'], out);
}

function ledgerWritten(check: LedgerCheck): number {
  return Object.values(check.rows).reduce((a, b) => a + b, 0);
}

function ledgerOk(check: LedgerCheck): boolean {
  return ledgerWritten(check) === check.metered && ledgerWritten(check) >= check.clientOk;
}

function ledgerTable(record: RunRecord): string {
  return table(
    ['arm', 'run', 'answers received (2xx)', 'metered (sluice_requests_total)', 'rows in usage_events', 'rows by status', 'lost'],
    record.ledger.map((c) => [
      c.arm,
      c.upstreamMs === 'streams' ? 'in-flight streams' : upstreamName(c.upstreamMs),
      String(c.clientOk),
      String(c.metered),
      String(ledgerWritten(c)),
      Object.entries(c.rows)
        .map(([status, n]) => `${status} ${n}`)
        .join(', '),
      String(Math.max(0, c.metered - ledgerWritten(c), c.clientOk - ledgerWritten(c))),
    ]),
  );
}

interface Target {
  what: string;
  measured: string;
  met: boolean | undefined;
}

function targets(view: View, record: RunRecord): Target[] {
  const out: Target[] = [];
  const has = (mode: Mode): boolean => (record.settings.modes as Mode[]).includes(mode);
  const paced = record.settings.pacedConcurrency as number;
  const check = (what: string, values: number[], unit: string, digits: number, limit: number): void => {
    const m = median(values);
    out.push({ what, measured: values.length ? `${spread(values, digits)} ${unit}` : 'not measured', met: values.length ? m <= limit : undefined });
  };
  if (has('json')) {
    for (const coresBusy of [false, true]) {
      const d = view.probes(0, 'json', 'direct', paced, coresBusy);
      const s = view.probes(0, 'json', 'sluice', paced, coresBusy);
      const cores = coresBusy ? 'cores kept busy' : 'cores idle between requests';
      check(`added p50 at ${paced} connections (paced, ${record.settings.pacedRate} req/s, ${cores}) ≤ 500 µs`, View.paired(s, d, (r) => r.p50), 'µs', 0, 500);
      check(`added p99 at ${paced} connections (paced, ${cores}) ≤ 2000 µs`, View.paired(s, d, (r) => r.p99), 'µs', 0, 2000);
    }
    const lc = view.loads(0, 'json', 'sluice', 32);
    const ld = view.loads(0, 'json', 'direct', 32);
    check('added p50 at 32 connections, closed loop (saturated: queueing) ≤ 0.5 ms', View.paired(lc, ld, (r) => r.p50), 'ms', 1, 0.5);
    check('added p99 at 32 connections, closed loop (saturated: queueing) ≤ 2 ms', View.paired(lc, ld, (r) => r.p99), 'ms', 1, 2);
    check('added p50, one connection back to back ≤ 500 µs', View.paired(view.probes(0, 'json', 'sluice', 1), view.probes(0, 'json', 'direct', 1), (r) => r.p50), 'µs', 0, 500);
    check('CPU per non-streaming request at 32 connections ≤ 0.5 ms', lc.map((r) => r.cpuMsPerReq ?? Number.NaN), 'ms', 3, 0.5);
    const pk = view.loads(0, 'json', 'portkey', 32);
    if (pk.length) {
      const ratios = lc.flatMap((r) => {
        const p = pk.find((x) => x.rep === r.rep);
        return p ? [r.rps / p.rps] : [];
      });
      out.push({ what: 'req/s ÷ Portkey at 32 connections ≈ 3×', measured: `${spread(ratios, 2)}×`, met: median(ratios) >= 3 });
      const cpu = lc.flatMap((r) => {
        const p = pk.find((x) => x.rep === r.rep);
        return p && r.cpuMsPerReq && p.cpuMsPerReq ? [r.cpuMsPerReq / p.cpuMsPerReq] : [];
      });
      out.push({ what: 'CPU per request ÷ Portkey ≤ 0.33 (≈3× less)', measured: `${spread(cpu, 2)}`, met: median(cpu) <= 0.34 });
    }
  }
  if (has('sse')) {
    check('added stream TTFB p50, one connection ≤ 1000 µs', View.paired(view.probes(0, 'sse', 'sluice', 1), view.probes(0, 'sse', 'direct', 1), (r) => r.ttfbP50), 'µs', 0, 1000);
  }
  const top = Math.max(...(record.settings.connections as number[]));
  const peaks = (record.settings.modes as Mode[]).flatMap((mode) => view.loads(0, mode, 'sluice', top).map((r) => r.rssPeakMb ?? 0));
  if (peaks.length) out.push({ what: `RSS at ${top} connections < 150 MB`, measured: `${fixed(Math.max(...peaks), 0)} MB (peak)`, met: Math.max(...peaks) < 150 });
  if (record.ledger.length) {
    out.push({
      what: 'no ledger event lost',
      measured: record.ledger.map((c) => `${ledgerWritten(c)}/${c.metered}`).join(', ') + ' rows/metered',
      met: record.ledger.every(ledgerOk),
    });
  }
  return out;
}

function sideSections(record: RunRecord): string[] {
  const out: string[] = [];
  const stream = record.streamMemory;
  if (stream) {
    out.push(
      '## Memory per in-flight stream',
      '',
      `${stream.streams} streaming requests held open through Sluice (the sim sends a chunk a second), each past its first byte: ${stream.opened} opened.`,
      '',
      table(['RSS before MB', 'RSS with all open MB', 'KB per stream', 'MB per 1,000 streams'], [[fixed(stream.rssBeforeMb, 1), fixed(stream.rssOpenMb, 1), fixed(stream.kbPerStream, 1), fixed(stream.mbPer1000, 1)]]),
      '',
    );
  }
  const ledgerRuns = ['ledger', 'ledger-principals'].map((name) => record.side[name] as LedgerRun | undefined).filter((run): run is LedgerRun => run !== undefined);
  const [firstLedger] = ledgerRuns;
  if (firstLedger) {
    out.push(
      '## Ledger write throughput',
      '',
      `\`bench/ledger.ts\`: events appended through the gateway's own buffered LedgerWriter (its flush hooks included) into a fresh libSQL file for ${fixed(firstLedger.seconds, 1)} s, as fast as the writer commits them (flush every ${firstLedger.flushIntervalMs} ms or ${firstLedger.maxBatch} events), then closed; rows counted. With one principal every event has the same key and model, so a batch adds to one set of rollup rows; with many, events come from that many keys (in teams and projects, with tags) on 8 models, and most add to rollup rows of their own. A commit holds the event loop for its statements (in slices of about 0.5 ms between requests); "commit ms" is a whole batch's time.`,
      '',
      table(
        ['principals', 'events appended', 'rows in usage_events', 'events/s sustained', 'µs per event', 'commit ms p50', 'commit ms p99', 'largest buffer depth', 'lost'],
        ledgerRuns.map((run) => [
          String(run.principals),
          String(run.events),
          String(run.rows),
          fixed(run.eventsPerS, 0),
          fixed(1e6 / run.eventsPerS, 0),
          fixed(run.commitMsP50, 1),
          fixed(run.commitMsP99, 1),
          String(run.maxDepth),
          String(run.events - run.rows),
        ]),
      ),
      '',
    );
  }
  const scorer = record.side.scorer;
  if (typeof scorer === 'string') {
    // bench/scorer.ts (issue 3) prints its own table; its heading becomes a plain line here.
    out.push('## Scorer speed', '', '`bench/scorer.ts`: the complexity scorer that routes `auto` requests, per prompt.', '', scorer, '');
  }
  for (const [name, value] of Object.entries(record.side)) {
    if (!name.startsWith('reports-')) continue;
    const report = value as { events: number; reports?: Array<{ case: string; median_ms: number; rows: number; total_equals_raw_sum: boolean }> } & Record<string, unknown>;
    out.push(`## Report latency on ${report.events.toLocaleString('en')} seeded events`, '', '`bench/reports.ts` (issue 6): median of 5 runs per report.', '');
    if (report.reports) out.push(table(['report', 'median ms', 'rows', 'total = raw ledger sum'], report.reports.map((r) => [r.case, fixed(r.median_ms, 1), String(r.rows), r.total_equals_raw_sum ? 'yes' : 'NO'])), '');
    const rest = Object.fromEntries(Object.entries(report).filter(([k]) => k !== 'reports'));
    out.push('```json', JSON.stringify(rest, null, 2), '```', '');
  }
  return out;
}

/** What bench/ledger.ts prints. */
interface LedgerRun {
  events: number;
  seconds: number;
  eventsPerS: number;
  rows: number;
  maxDepth: number;
  flushIntervalMs: number;
  maxBatch: number;
  commitMsP50: number;
  commitMsP99: number;
  principals: number;
}

export function renderResults(record: RunRecord): string {
  const view = new View(record.rows);
  const s = record.settings;
  const m = record.machine;
  const lines: string[] = [
    '# Sluice benchmark results',
    '',
    `Measured ${record.startedAt.slice(0, 16).replace('T', ' ')} UTC with \`${record.command}\`.`,
    '',
    `- Machine: ${m.cores} cores (${m.cpu}), Node ${m.node}; load average at the start ${m.load}. The machine is shared, so absolute numbers move with its neighbours: compare arms within this run, not with other runs.`,
    `- Sluice ${record.sluice.commit}, started as \`npm start\` starts it (bundled, no TypeScript loader; ledger batches committed through a connection that keeps its prepared statements) with a fresh libSQL file; metering, the ledger, routing and the response cache on (nothing switched off). Its requests ask for \`${record.sluice.requestModel}\` (routed; served by \`${record.sluice.servedModel}\`); the other arms ask the sim for \`${record.sluice.upstreamModel}\`. A repeated identical request answered \`x-sluice-cache: ${record.sluice.cacheHeader}\` (temperature 0.2: not cacheable under the default policy), so every request goes upstream.`,
    `- Upstream: the simulated upstream (\`sluice sim\`, its own process). Body: a ~1 KB chat request (system prompt + 900-character ticket, max_tokens 64); \`json\` = \`stream: false\`, \`sse\` = \`stream: true\` with \`stream_options.include_usage\`.`,
    `- ${s.reps} repetition(s), arms interleaved within each; closed-loop runs ${s.durationS} s each after a ${s.warmupS} s warm-up per arm and mode (autocannon, connections ${(s.connections as number[]).join(', ')}); probes ${s.probeN} requests each (node:http keep-alive, hrtime): back to back on one connection, and over ${s.pacedConcurrency} connections paced at ${s.pacedRate} req/s in total (twice: with the cores left to idle between requests, and kept busy). Cells are median [min–max] over repetitions; "added" is the arm minus direct within the same repetition.`,
    `- CPU ms/req: the gateway process's utime+stime (/proc/PID/stat) over the run ÷ answers (for probes, their 100 warm-up requests included). Preempted /req: how often the kernel took the gateway's event-loop thread off a CPU while it could still run (nonvoluntary_ctxt_switches in /proc/PID/status), per request. RSS from /proc/PID/status (peak sampled every 200 ms during the run).`,
    `- Peers: ${record.peerVersions ? Object.entries(record.peerVersions).map(([k, v]) => `${k} ${v}`).join(', ') + ' (installed by ../shared/bench/peer-portkey.sh; Portkey waits 25 ms before the first SSE chunk by design)' : 'not run (add `--peers`)'}.`,
    '',
    'On 2 shared cores the closed-loop runs with the instant upstream are CPU-bound for every arm: their latency is mostly queueing (p50 ≈ connections ÷ req/s), so "added" there measures throughput, not what one request pays. The probes show what a request pays; CPU ms/req is the number that carries over to other machines.',
    '',
    '## Targets (instant upstream)',
    '',
    table(
      ['target', 'measured', 'met'],
      targets(view, record).map((t) => [t.what, t.measured, t.met === undefined ? '–' : t.met ? 'yes' : 'no']),
    ),
    '',
  ];
  for (const upstreamMs of s.upstreamMs as number[]) {
    if (!record.rows.some((r) => r.upstreamMs === upstreamMs)) continue;
    lines.push(`## ${upstreamName(upstreamMs)[0]!.toUpperCase()}${upstreamName(upstreamMs).slice(1)}`, '');
    lines.push('### One connection, back to back (added latency)', '', probeTable(view, record, upstreamMs, 1), '');
    lines.push(`### ${s.pacedConcurrency} connections, paced at ${s.pacedRate} req/s in total`, '', probeTable(view, record, upstreamMs, s.pacedConcurrency as number), '');
    lines.push(
      `### ${s.pacedConcurrency} connections, paced at ${s.pacedRate} req/s in total, cores kept busy`,
      '',
      'The same probe with a busy loop per core under SCHED_IDLE, for every arm: the cores never halt, and any other process takes a core from the loop at once. Between paced requests the cores are otherwise idle; on this VM an idle core halts, and waking it and warming its caches is paid at every process hop of a request (client, gateway, upstream, gateway, client). Left out this way, what remains at p50 is closer to what the gateway itself costs. The loops are not free: with them the kernel preempts the gateways\' event-loop threads more often (preempted /req), so read the tails (p99) beside the table above.',
      '',
      probeTable(view, record, upstreamMs, s.pacedConcurrency as number, true),
      '',
    );
    lines.push('### Closed loop (autocannon)', '', loadTable(view, record, upstreamMs), '');
    for (const peer of [...armsOf(record.rows, upstreamMs).filter((a) => a.startsWith('sluice@')), 'portkey', 'hono-min']) {
      const ratios = peerRatioTable(view, record, upstreamMs, peer);
      if (ratios) lines.push(`### Ratios to ${peer} (within this run; CPU < 1 and req/s > 1 favour the arm)`, '', ratios, '');
    }
    lines.push('### Memory', '', memoryTable(view, record, upstreamMs), '');
  }
  if (record.ledger.length) {
    lines.push(
      '## Ledger: no event lost',
      '',
      'After each run Sluice is stopped with SIGTERM (it flushes), and its database is read. Every metered request must have exactly one row, and there must be at least one row per answer the clients received (requests cut off at the end of a load run are recorded as aborted).',
      '',
      ledgerTable(record),
      '',
    );
  }
  lines.push(...sideSections(record));
  if (record.notes.length) lines.push('## Notes', '', ...record.notes.map((n) => `- ${n}`), '');
  return lines.join('\n');
}
