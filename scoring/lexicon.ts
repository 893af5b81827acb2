/**
 * Cue words: hand-picked lowercase words and word pairs that signal what kind of work a prompt
 * asks for. Each cue belongs to one or more categories; the scanner counts hits per category.
 * Apostrophes are dropped by the scanner, so "don't" is listed as "dont".
 */
import { pairHash, wordHash } from './hash';

export const CUE_CATEGORIES = [
  'reasoning',
  'math_words',
  'code_words',
  'constraints',
  'long_output',
  'short_output',
  'simple_task',
  'creative',
  'quantities',
  'negation',
  'hard_words',
  'conditionals',
  'number_words',
  'comparisons',
  'extremes',
  'counting',
] as const;
export type CueCategory = (typeof CUE_CATEGORIES)[number];

const CUES: Readonly<Record<CueCategory, string>> = {
  reasoning: `why explain explaining explanation analyze analyse analysis analyzing compare comparison
    contrast evaluate evaluating justify justification prove proof derive derivation reason reasoning
    infer inference deduce implication implications tradeoff tradeoffs critique critically assess
    argue argument hypothesis consequence consequences strategy strategies optimize optimise design
    debate discuss interpret interpretation determine diagnose troubleshoot investigate;
    step_by think_through walk_through pros_and in_depth trade_offs what_if`,
  math_words: `solve solving calculate calculation compute computing equation equations integral integrate
    derivative differentiate probability matrix matrices polynomial theorem lemma prime primes integer
    integers remainder divisible divisor divisors factorial ratio fraction fractions sum product
    quotient median area volume perimeter radius diameter angle angles triangle circle rectangle
    polygon coordinate coordinates graph sequence series converge converges vector vectors eigenvalue
    logarithm log ln sqrt exponent exponential modulo mod gcd lcm permutation permutations
    combinations variance deviation roots root digit digits domain slope intercept parabola
    hyperbola ellipse asymptote sin cos tan pi infinity inequality maximize minimize rational
    irrational parallelogram hypotenuse simplify real complex function functions`,
  code_words: `code coding function functions implement implementation algorithm algorithms program
    programming python javascript typescript java rust golang sql regex debug bug bugs compile
    compiler class method api script bash shell query recursion recursive refactor variable array
    loop json yaml html css react database server docker kubernetes git linux async thread
    concurrency pointer runtime exception syntax library framework def return import const var
    void static println printf console lambda struct enum interface endpoint`,
  constraints: `must exactly only ensure without never always limit require required requirement
    requirements constraint constraints format formatted strictly specifically words sentences
    paragraphs characters bullet bullets table json csv markdown;
    at_least at_most no_more fewer_than less_than do_not dont_use must_not`,
  long_output: `essay detailed comprehensive thorough thoroughly elaborate report article blog chapter
    chapters outline guide tutorial proposal whitepaper thesis documentation; in_detail long_form`,
  short_output: `briefly brief short concise concisely quick quickly tldr;
    one_word one_sentence single_word yes_or`,
  simple_task: `translate translation summarize summary rewrite rephrase paraphrase list define definition
    spell spelling grammar hello hi hey thanks thank capital synonym synonyms antonym email tweet
    greeting joke recommend suggest`,
  creative: `write poem poetry story compose draft imagine pretend roleplay character lyrics song slogan
    haiku fiction narrative persuasive creative`,
  quantities: `twice half double triple thrice third quarter dozen dozens percent percentage discount
    profit interest rate remaining remainder ratio average each per every respectively increase
    decrease increased decreased`,
  negation: `not except least false incorrect never none neither nor cannot unlikely exception`,
  hard_words: `difficult hard challenging tricky advanced rigorous rigorously formal formally research
    expert nontrivial sophisticated novel complicated counterexample generalize asymptotic optimal;
    edge_cases`,
  conditionals: `if suppose assume assuming given unless whether otherwise`,
  number_words: `one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty
    fifty sixty seventy eighty ninety hundred hundreds thousand thousands million half twice double
    triple dozen`,
  comparisons: `older younger taller shorter longer faster slower cheaper heavier; more_than less_than
    fewer_than times_as as_many as_much greater_than smaller_than`,
  extremes: `largest smallest greatest maximum minimum max min maximal minimal fewest highest lowest`,
  counting: `ways arrangements distinct possible; how_many number_of ordered_pairs ordered_triples`,
};

/**
 * Marks a word that begins some two-word cue, so the scanner looks pairs up only after such a
 * word. Above every category bit.
 */
export const STARTS_PAIR = 1 << 30;

/**
 * Entries are `hash → category bit set`, keyed by word hashes and by word-pair hashes, placed so
 * that every lookup reads exactly one slot: the hash's group (its low bits) has its own odd
 * multiplier, chosen when the table is built so that the top bits of hash × multiplier give
 * every entry of the group a slot of its own. (A linear-probing table needed a loop whose exit,
 * after one probe or several, the branch predictor could not foresee.) Each slot is the pair
 * `[key, bits]` in `slots`, so a lookup reads one cache line after the multiplier.
 */
export type CueTable = {
  readonly multipliers: Int32Array;
  readonly groupMask: number;
  readonly slots: Int32Array;
  /** 32 − log2(slot count): hash × multiplier >>> slotShift is the slot. */
  readonly slotShift: number;
};

function buildCueTable(): CueTable {
  const entries = new Map<number, number>();
  CUE_CATEGORIES.forEach((category, bit) => {
    for (const cue of CUES[category].split(/[\s;]+/)) {
      if (cue === '') continue;
      const parts = cue.split('_');
      const hash = parts.length === 1 ? wordHash(cue) : pairHash(wordHash(parts[0]!), wordHash(parts[1]!));
      entries.set(hash, (entries.get(hash) ?? 0) | (1 << bit));
      if (parts.length > 1) entries.set(wordHash(parts[0]!), (entries.get(wordHash(parts[0]!)) ?? 0) | STARTS_PAIR);
    }
  });
  // 0 marks an empty slot, which any absent hash may land on and read as "no cues"; a cue
  // hashing to 0 is astronomically unlikely and would be dropped.
  entries.delete(0);
  // About 4 slots per entry and 2 entries per group: every group finds a multiplier within a
  // few tries (13 at most for this lexicon), and the table (16 KB) stays in L1.
  let slotBits = 0;
  while (1 << slotBits < entries.size * 4) slotBits++;
  const slotCount = 1 << slotBits;
  const slotShift = 32 - slotBits;
  let groupCount = 1;
  while (groupCount * 2 < entries.size) groupCount <<= 1;
  const groupMask = groupCount - 1;
  const groups = Array.from({ length: groupCount }, (): number[] => []);
  for (const hash of entries.keys()) groups[hash & groupMask]!.push(hash | 0);
  const multipliers = new Int32Array(groupCount);
  const slots = new Int32Array(slotCount * 2);
  const taken = new Uint8Array(slotCount);
  // Largest groups first, while most slots are free.
  const order = groups.map((_, group) => group).sort((a, b) => groups[b]!.length - groups[a]!.length || a - b);
  for (const group of order) {
    const hashes = groups[group]!;
    if (hashes.length === 0) break;
    let multiplier = 1;
    const slotOf = (hash: number): number => Math.imul(hash, multiplier) >>> slotShift;
    while (!hashes.every((hash, i) => !taken[slotOf(hash)] && hashes.findIndex((h) => slotOf(h) === slotOf(hash)) === i)) {
      multiplier += 2;
      if (multiplier > 1 << 20) throw new Error('cue table: no multiplier fits a group');
    }
    multipliers[group] = multiplier;
    for (const hash of hashes) {
      const slot = slotOf(hash);
      taken[slot] = 1;
      slots[2 * slot] = hash;
      slots[2 * slot + 1] = entries.get(hash >>> 0)!;
    }
  }
  return { multipliers, groupMask, slots, slotShift };
}

export const CUE_TABLE: CueTable = buildCueTable();

/** The category bit set of a word or pair hash; 0 when it is not a cue. One slot, one comparison. */
export function cueBits(table: CueTable, hash: number): number {
  const key = hash | 0;
  const slot = Math.imul(key, table.multipliers[key & table.groupMask]!) >>> table.slotShift;
  return table.slots[2 * slot] === key ? table.slots[2 * slot + 1]! : 0;
}
