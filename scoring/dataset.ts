/**
 * The labeled offline data (shared/data/labeled) as typed examples, and the frozen dev/test
 * split. Pure: the caller reads the files and passes their text in.
 */

export const TIERS = ['small', 'medium', 'large'] as const;
export type Tier = (typeof TIERS)[number];

export const SOURCES = ['mmlu', 'gsm8k', 'math500', 'mtbench'] as const;
export type Source = (typeof SOURCES)[number];

/** `heldout` is MT-Bench: never tuned on, only evaluated. */
export type Split = 'dev' | 'test' | 'heldout';

export type LabeledExample = {
  readonly id: string;
  readonly source: Source;
  readonly prompt: string;
  /** 0 = small, 1 = medium, 2 = large. */
  readonly tier: number;
  readonly split: Split;
  /** RouteLLM's contamination exclusion. */
  readonly excluded: boolean;
  /** Weak/strong model quality (0/1, or MT-Bench judge score); absent for MATH-500. */
  readonly weak?: number;
  readonly strong?: number;
  /** MMLU subject. */
  readonly subject?: string;
  /** GSM8K reference-solution calculation count. */
  readonly steps?: number;
  /** MATH-500 human difficulty level 1–5. */
  readonly level?: number;
};

/** The labeled files this module expects, by source. */
export const LABELED_FILES: Readonly<Record<Source, string>> = {
  mmlu: 'mmlu.jsonl',
  gsm8k: 'gsm8k.jsonl',
  math500: 'math500.jsonl',
  mtbench: 'mtbench.jsonl',
};
export const SIGNALS_FILE = 'signals.jsonl';

const GSM8K_FIRST_TEST_ID = 660;

/**
 * The frozen split (EVALUATION.md §5): MMLU even row index within its subject = dev; GSM8K
 * ids below 660 = dev; MATH-500 even = dev; MT-Bench is held out entirely.
 */
export function splitOf(source: Source, id: string): Split {
  if (source === 'mtbench') return 'heldout';
  const index = Number(id.slice(id.lastIndexOf('-') + 1));
  if (!Number.isInteger(index)) throw new Error(`cannot read the row index of ${id}`);
  if (source === 'gsm8k') return index < GSM8K_FIRST_TEST_ID ? 'dev' : 'test';
  return index % 2 === 0 ? 'dev' : 'test';
}

function sourceOf(id: string): Source {
  const source = SOURCES.find((s) => id.startsWith(`${s}-`));
  if (source === undefined) throw new Error(`unknown source for id ${id}`);
  return source;
}

type Signals = {
  weak?: number;
  strong?: number;
  excluded?: boolean;
  steps?: number;
  level?: number;
};

function parseJsonLines(text: string, fileName: string): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const row: unknown = JSON.parse(line);
    if (typeof row !== 'object' || row === null || Array.isArray(row)) {
      throw new Error(`${fileName}:${i + 1}: expected a JSON object`);
    }
    rows.push(row as Record<string, unknown>);
  }
  return rows;
}

function optionalNumber(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

/**
 * Joins the prompt files with signals.jsonl. `promptFiles` maps a file name (e.g.
 * `mmlu.jsonl`) to its text; every source present is parsed.
 */
export function parseLabeledData(promptFiles: ReadonlyMap<string, string>, signalsText: string): LabeledExample[] {
  const signals = new Map<string, Signals>();
  for (const row of parseJsonLines(signalsText, SIGNALS_FILE)) {
    if (typeof row.id !== 'string') throw new Error(`${SIGNALS_FILE}: a row has no id`);
    signals.set(row.id, {
      weak: optionalNumber(row.weak),
      strong: optionalNumber(row.strong),
      excluded: row.excluded === true,
      steps: optionalNumber(row.steps),
      level: optionalNumber(row.level),
    });
  }
  const examples: LabeledExample[] = [];
  for (const [fileName, text] of promptFiles) {
    for (const row of parseJsonLines(text, fileName)) {
      const { id, prompt, label } = row;
      if (typeof id !== 'string' || typeof prompt !== 'string' || typeof label !== 'string') {
        throw new Error(`${fileName}: every row needs string id, prompt and label`);
      }
      const tier = TIERS.indexOf(label as Tier);
      if (tier < 0) throw new Error(`${fileName}: ${id} has unknown label ${label}`);
      const source = sourceOf(id);
      const signal = signals.get(id) ?? {};
      examples.push({
        id,
        source,
        prompt,
        tier,
        split: splitOf(source, id),
        excluded: signal.excluded === true,
        ...(signal.weak !== undefined && { weak: signal.weak }),
        ...(signal.strong !== undefined && { strong: signal.strong }),
        ...(signal.steps !== undefined && { steps: signal.steps }),
        ...(signal.level !== undefined && { level: signal.level }),
        ...(source === 'mmlu' && { subject: id.slice('mmlu-'.length, id.lastIndexOf('-')) }),
      });
    }
  }
  return examples;
}
