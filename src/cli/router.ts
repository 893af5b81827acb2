// Node-only: `sluice router eval|calibrate`, the offline evaluation and fitting of the
// complexity scorer. The scorer itself (scoring/) is pure; this file reads the labeled data,
// owns the clock for the latency figures, and writes files.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULT_FIT_OPTIONS } from '../../scoring/calibrate';
import { LABELED_FILES, type LabeledExample, parseLabeledData, SIGNALS_FILE } from '../../scoring/dataset';
import { fnvStep, FNV_OFFSET } from '../../scoring/hash';
import { calibrateOnDev, evaluateProtocol, requestOf, type PriceLadder } from '../../scoring/protocol';
import { formatReport, type LatencyResult } from '../../scoring/report';
import { computeScore } from '../../scoring/score';
import { compileWeights, parseWeights, type ScoringWeights } from '../../scoring/weights';
import { Catalog, SHIPPED_CATALOG } from '../catalog/catalog';
import { flag, parseArgs, UsageError } from './args';

export const ROUTER_USAGE = `sluice router eval [--data DIR] [--weights FILE] [--family NAME] [--json] [--out FILE]
sluice router calibrate [--data DIR] --out FILE

  DIR is the labeled data folder (mmlu.jsonl, gsm8k.jsonl, math500.jsonl, mtbench.jsonl,
  signals.jsonl); default ../shared/data/labeled. eval scores the shipped weights (or FILE)
  on the test splits, with cost figures at the prices of the catalog family NAME (default:
  the default family, claude); calibrate fits new weights on the dev splits only.`;

const DEFAULT_DATA_DIR = '../shared/data/labeled';
const LATENCY_RUNS = 10;
const SHORT_PROMPT_CHARS = 4000;

function loadLabeledData(dir: string): LabeledExample[] {
  const folder = resolve(dir);
  const missing = [...Object.values(LABELED_FILES), SIGNALS_FILE].filter((file) => !existsSync(join(folder, file)));
  if (missing.length > 0) {
    throw new UsageError(`no labeled data in ${folder} (missing ${missing.join(', ')}); pass --data DIR`);
  }
  const promptFiles = new Map(Object.values(LABELED_FILES).map((file) => [file, readFileSync(join(folder, file), 'utf8')]));
  return parseLabeledData(promptFiles, readFileSync(join(folder, SIGNALS_FILE), 'utf8'));
}

function machineDescription(): string {
  const cores = cpus();
  return `${cores.length}-core ${cores[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}, one core used`;
}

const percentile = (sorted: Float64Array, p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

/**
 * Scores every prompt LATENCY_RUNS times (after one warm-up pass), timing each call on its
 * own; the requests are built before timing, as the gateway already holds a parsed request.
 */
function measureLatency(examples: readonly LabeledExample[], weights: ScoringWeights): LatencyResult {
  const model = compileWeights(weights);
  const requests = examples.map((e) => requestOf(e.prompt));
  const firstScores = requests.map((request) => computeScore(request, model));
  const samples = new Float64Array(requests.length * LATENCY_RUNS);
  const shortSamples: number[] = [];
  let deterministic = true;
  let totalNs = 0;
  let totalChars = 0;
  for (let run = 0; run < LATENCY_RUNS; run++) {
    for (let i = 0; i < requests.length; i++) {
      const start = process.hrtime.bigint();
      const score = computeScore(requests[i]!, model);
      const ns = Number(process.hrtime.bigint() - start);
      if (score !== firstScores[i]) deterministic = false;
      samples[run * requests.length + i] = ns;
      totalNs += ns;
      const chars = examples[i]!.prompt.length;
      totalChars += chars;
      if (chars <= SHORT_PROMPT_CHARS) shortSamples.push(ns);
    }
  }
  samples.sort();
  const short = Float64Array.from(shortSamples).sort();
  return {
    prompts: requests.length,
    runs: LATENCY_RUNS,
    p50Us: percentile(samples, 0.5) / 1000,
    p99Us: percentile(samples, 0.99) / 1000,
    maxUs: samples[samples.length - 1]! / 1000,
    p50UsUpTo4k: percentile(short, 0.5) / 1000,
    p99UsUpTo4k: percentile(short, 0.99) / 1000,
    nsPerChar: totalNs / totalChars,
    promptsPerSecond: samples.length / (totalNs / 1e9),
    deterministic,
  };
}

/** A content-derived version: identical weights always get the same version. */
function versionOf(weights: ScoringWeights): string {
  const text = JSON.stringify({ ...weights, version: '' });
  let hash = FNV_OFFSET;
  for (let i = 0; i < text.length; i++) hash = fnvStep(hash, text.charCodeAt(i));
  return `scorer-1.${(hash >>> 0).toString(16).padStart(8, '0')}`;
}

function calibrate(examples: readonly LabeledExample[], out: string): number {
  const fittedOn =
    'dev splits of MMLU (even rows per subject), GSM8K (ids < 660) and MATH-500 (even rows); ' +
    'ordinal target: strong-minus-weak outcome (MMLU, GSM8K), level (MATH-500); MT-Bench and test rows unused';
  const { weights } = calibrateOnDev(examples, { ...DEFAULT_FIT_OPTIONS, version: 'unversioned', fittedOn });
  const versioned = { ...weights, version: versionOf(weights) };
  writeFileSync(out, `${JSON.stringify(versioned)}\n`);
  console.log(
    `wrote ${out}: version ${versioned.version}, ${versioned.lexical.buckets.length} lexical buckets, ` +
      `thresholds ${versioned.thresholds.small_medium.toFixed(3)} / ${versioned.thresholds.medium_large.toFixed(3)}`,
  );
  return 0;
}

type EvalRequest = { weights: ScoringWeights; ladder: PriceLadder; asJson: boolean; out: string | undefined; command: string };

/** The cost figures use our own catalog's prices for a family ladder (cheapest first). */
function familyLadder(name: string | undefined): PriceLadder {
  const catalog = new Catalog(SHIPPED_CATALOG);
  const family = name === undefined ? catalog.defaultFamily : catalog.family(name);
  if (!family) throw new UsageError(`no family "${name}"; families: ${catalog.families.map((f) => f.name).join(', ')}`);
  if (family.models.length !== 3) throw new UsageError(`family "${family.name}" has ${family.models.length} rungs; the three-tier evaluation needs 3`);
  return family.models.map((m) => ({ model: m.id, input: m.prices.input, output: m.prices.output }));
}

function evaluate(examples: readonly LabeledExample[], { weights, ladder, asJson, out, command }: EvalRequest): number {
  const latency = measureLatency(examples, weights);
  const report = evaluateProtocol(examples, weights, DEFAULT_FIT_OPTIONS, ladder);
  if (asJson) {
    console.log(JSON.stringify({ ...report, latency }, null, 2));
    return 0;
  }
  const markdown = formatReport(
    report,
    {
      date: new Date().toISOString().slice(0, 10),
      command,
      machine: machineDescription(),
    },
    latency,
  );
  if (out !== undefined) writeFileSync(out, markdown);
  console.log(markdown);
  return 0;
}

/** `sluice router eval|calibrate`; returns the process exit code. */
export async function routerCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['json']);
  const [sub] = args.positionals;
  const data = flag(args, 'data') ?? DEFAULT_DATA_DIR;
  switch (sub) {
    case 'eval': {
      const weightsFile = flag(args, 'weights');
      // The shipped weights load only here, so calibrate still works when weights.json is stale.
      const weights =
        weightsFile === undefined
          ? (await import('../../scoring/shipped-weights')).SHIPPED_WEIGHTS
          : parseWeights(JSON.parse(readFileSync(weightsFile, 'utf8')));
      return evaluate(loadLabeledData(data), {
        weights,
        ladder: familyLadder(flag(args, 'family')),
        asJson: args.flags.has('json'),
        out: flag(args, 'out'),
        command: `sluice router ${argv.join(' ')}`,
      });
    }
    case 'calibrate': {
      const out = flag(args, 'out');
      if (out === undefined) throw new UsageError(`router calibrate needs --out FILE\n\n${ROUTER_USAGE}`);
      return calibrate(loadLabeledData(data), out);
    }
    default:
      throw new UsageError(ROUTER_USAGE);
  }
}
