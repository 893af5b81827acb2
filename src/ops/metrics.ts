/**
 * A small Prometheus registry (text exposition format 0.0.4): counters, gauges and histograms
 * with labels. Kept in-process and cheap enough for the request path (a Map lookup per update).
 */

type Labels = Record<string, string>;

const NEEDS_ESCAPE = /[\\\n"]/;
/** Label names of the update in progress, sorted in place (updates are synchronous, so one array serves all). */
const sortedNames: string[] = [];

/**
 * The series' identity: labels sorted by name, values escaped. This runs on every update on the
 * request path, so it allocates nothing but the key (no Object.keys, no Array#sort work array).
 */
function labelKey(labels: Labels): string {
  sortedNames.length = 0;
  for (const name in labels) {
    let i = sortedNames.length;
    sortedNames.push(name);
    while (i > 0 && sortedNames[i - 1]! > name) {
      sortedNames[i] = sortedNames[i - 1]!;
      i--;
    }
    sortedNames[i] = name;
  }
  let key = '';
  for (const name of sortedNames) {
    const value = labels[name] ?? '';
    key += `${key ? ',' : ''}${name}="${NEEDS_ESCAPE.test(value) ? escapeLabel(value) : value}"`;
  }
  return key;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

interface Metric {
  render(): string;
}

export class Counter implements Metric {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    const key = labelKey(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }

  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} counter\n`;
    for (const [key, value] of this.values) out += `${this.name}${key ? `{${key}}` : ''} ${formatValue(value)}\n`;
    return out;
  }
}

export class Gauge implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => number,
  ) {}

  render(): string {
    return `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} gauge\n${this.name} ${formatValue(this.read())}\n`;
  }
}

export class Histogram implements Metric {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
  ) {}

  observe(value: number, labels: Labels = {}): void {
    const key = labelKey(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    for (let i = 0; i < this.buckets.length; i++) {
      if (value <= this.buckets[i]!) s.counts[i]!++;
    }
    s.sum += value;
    s.count++;
  }

  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} histogram\n`;
    for (const [key, s] of this.series) {
      const prefix = key ? `${key},` : '';
      this.buckets.forEach((bound, i) => {
        out += `${this.name}_bucket{${prefix}le="${formatValue(bound)}"} ${s.counts[i]}\n`;
      });
      out += `${this.name}_bucket{${prefix}le="+Inf"} ${s.count}\n`;
      out += `${this.name}_sum${key ? `{${key}}` : ''} ${formatValue(s.sum)}\n`;
      out += `${this.name}_count${key ? `{${key}}` : ''} ${s.count}\n`;
    }
    return out;
  }
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const OVERHEAD_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05];

/** The gateway's metrics. One instance per app; `/metrics` renders it. */
export class Metrics {
  private readonly all: Metric[] = [];
  readonly requests = this.add(new Counter('sluice_requests_total', 'Requests answered, by surface, provider, served model, tier and status.'));
  readonly tokens = this.add(new Counter('sluice_tokens_total', 'Tokens metered, by served model and token class.'));
  readonly cost = this.add(new Counter('sluice_cost_nanodollars_total', 'Metered cost in nano-USD, by served model.'));
  readonly baselineCost = this.add(new Counter('sluice_baseline_cost_nanodollars_total', 'Counterfactual baseline cost in nano-USD, by served model.'));
  readonly upstreamErrors = this.add(new Counter('sluice_upstream_errors_total', 'Upstream failures, by provider and error type.'));
  readonly ledgerFlushFailures = this.add(new Counter('sluice_ledger_flush_failures_total', 'Ledger flushes that failed and will be retried.'));
  readonly ledgerEventsWritten = this.add(new Counter('sluice_ledger_events_written_total', 'Ledger events committed to the database.'));
  readonly deferred = this.add(new Counter('sluice_deferred_total', 'Deferred (batch-tier) requests reaching a status, by provider and status.'));
  readonly requestDuration = this.add(new Histogram('sluice_request_duration_seconds', 'Time from request to the end of the answer.', LATENCY_BUCKETS));
  readonly timeToFirstToken = this.add(new Histogram('sluice_time_to_first_token_seconds', 'Time from request to the first streamed token.', LATENCY_BUCKETS));
  readonly gatewayOverhead = this.add(new Histogram('sluice_gateway_overhead_seconds', 'Time spent in the gateway before the upstream call starts.', OVERHEAD_BUCKETS));

  add<M extends Metric>(metric: M): M {
    this.all.push(metric);
    return metric;
  }

  gauge(name: string, help: string, read: () => number): void {
    this.add(new Gauge(name, help, read));
  }

  render(): string {
    return this.all.map((m) => m.render()).join('');
  }
}
