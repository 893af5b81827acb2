/**
 * Feature extraction over a whole chat request in one pass per text, with charCodeAt and no
 * regular expressions, so the cost is linear in the size of the prompt.
 *
 * Count features are reported as log1p(count): appending content never lowers them, and a
 * thousand digits is not a thousand times harder than one.
 */
import { FNV_OFFSET, fnvStep, mix32, pairHash, wordHash } from './hash';
import { CUE_CATEGORIES, CUE_TABLE, cueBits, STARTS_PAIR } from './lexicon';
import type { ScoringContentPart, ScoringRequest } from './types';

/** The named features, in the order of the value vector. */
export const FEATURES = [
  // size and shape
  'chars',
  'long_words',
  'lines',
  'sentences',
  'questions',
  'list_items',
  'choice_options',
  // the request around the prompt
  'system_prompt',
  'conversation_depth',
  'tools',
  'tool_calls',
  'structured_output',
  'requested_output',
  'images',
  'files',
  // code
  'code_fences',
  'code_symbols',
  'indented_lines',
  'identifiers',
  // math and formal notation
  'digits',
  'numbers',
  'quantities_mentioned',
  'decimals',
  'fractions',
  'latex',
  'variables',
  'dollars',
  'operators',
  'percent_signs',
  // emphasis and language
  'caps_words',
  'proper_nouns',
  'non_latin',
  'accented',
  // cue-word categories (lexicon.ts)
  ...CUE_CATEGORIES,
] as const;
export type FeatureName = (typeof FEATURES)[number];

/**
 * The prompt's format. Each format has its own weights (sharing most of their strength through
 * fitting), because the same surface cue means different things in different formats: many
 * numbers in a multiple-choice question is not what many numbers in a word problem is.
 */
export const FORMATS = ['open', 'multiple_choice', 'word_problem', 'formal_math'] as const;
export type PromptFormat = (typeof FORMATS)[number];
const MULTIPLE_CHOICE = FORMATS.indexOf('multiple_choice');
const WORD_PROBLEM = FORMATS.indexOf('word_problem');
const FORMAL_MATH = FORMATS.indexOf('formal_math');
const OPEN = FORMATS.indexOf('open');

const index = (name: FeatureName): number => FEATURES.indexOf(name);
const CHARS = index('chars');
const LONG_WORDS = index('long_words');
const LINES = index('lines');
const SENTENCES = index('sentences');
const QUESTIONS = index('questions');
const LIST_ITEMS = index('list_items');
const CHOICE_OPTIONS = index('choice_options');
const SYSTEM_PROMPT = index('system_prompt');
const CONVERSATION_DEPTH = index('conversation_depth');
const TOOLS = index('tools');
const TOOL_CALLS = index('tool_calls');
const STRUCTURED_OUTPUT = index('structured_output');
const REQUESTED_OUTPUT = index('requested_output');
const IMAGES = index('images');
const FILES = index('files');
const CODE_FENCES = index('code_fences');
const CODE_SYMBOLS = index('code_symbols');
const INDENTED_LINES = index('indented_lines');
const IDENTIFIERS = index('identifiers');
const DIGITS = index('digits');
const NUMBERS = index('numbers');
const QUANTITIES_MENTIONED = index('quantities_mentioned');
const DECIMALS = index('decimals');
const FRACTIONS = index('fractions');
const LATEX = index('latex');
const VARIABLES = index('variables');
const DOLLARS = index('dollars');
const OPERATORS = index('operators');
const PERCENT_SIGNS = index('percent_signs');
const CAPS_WORDS = index('caps_words');
const PROPER_NOUNS = index('proper_nouns');
const NON_LATIN = index('non_latin');
const ACCENTED = index('accented');
const NUMBER_WORDS = index('number_words');
const FIRST_CUE = index(CUE_CATEGORIES[0]);

/** 1 for features reported as log1p(count); 0 for shares and levels that are already scaled. */
const IS_COUNT = Uint8Array.from(FEATURES, (_, i) =>
  i === NON_LATIN || i === ACCENTED || i === STRUCTURED_OUTPUT || i === REQUESTED_OUTPUT ? 0 : 1,
);

/**
 * log1p of the small whole numbers that most counts are, computed once by Math.log1p itself (so
 * the values are the same bits): a table load instead of a libm call per non-zero count.
 */
const LOG1P_OF_COUNT = Float64Array.from({ length: 4096 }, (_, n) => Math.log1p(n));

/** Every number token shares one lexical hash: the digits say little, their presence does. */
const NUMBER_HASH = wordHash('<num>');
/**
 * The FNV offset basis as an int32 (the same 32 bits): as the larger-than-int32 number it is,
 * it would make the running hash a boxed number in the scanner.
 */
const EMPTY_HASH = FNV_OFFSET | 0;
const LONG_WORD_LETTERS = 10;
/** Unfinalized FNV hashes of the one-letter words "a" and "i". */
const A_HASH = fnvStep(FNV_OFFSET, 97) | 0;
const I_HASH = fnvStep(FNV_OFFSET, 105) | 0;
/** Output budgets up to this many tokens are ordinary; each doubling above adds one unit. */
const ORDINARY_OUTPUT_TOKENS = 256;

/**
 * Where the scanner sends lexical (hashed unigram and bigram) buckets: it sums `values` over
 * them for scoring, and also records them in `buckets` when fitting.
 */
export type LexicalSink = {
  readonly values: Float32Array;
  readonly mask: number;
  readonly buckets: number[] | null;
};

export type FeatureVector = {
  /** Indexed like FEATURES. */
  readonly values: Float64Array;
  /** Index into FORMATS. */
  readonly format: number;
  /** Sum of the lexical values of every unigram and bigram. */
  readonly lexicalSum: number;
  /** How many unigrams and bigrams were looked up. */
  readonly lexicalTerms: number;
};

type ScanState = {
  counts: Float64Array;
  letters: number;
  /**
   * What decides the format beyond the features: formal-notation marks (LaTeX commands, carets,
   * inline-math dollars) outside code fences, and number tokens inside them.
   */
  formalMarks: number;
  numbersInCode: number;
  lexicalSum: number;
  lexicalTerms: number;
};

/**
 * The code unit at `at`, or 0 outside the text. charCodeAt's NaN past either end would make
 * V8 deoptimize the scanner and then carry every character code as a double.
 */
const codeAt = (text: string, at: number): number => ((at >>> 0) < text.length ? text.charCodeAt(at) : 0);
const isWhitespaceOrEnd = (code: number): boolean =>
  code === 0 || code === 32 || code === 10 || code === 13 || code === 9;
/*
 * Character ranges as one unsigned comparison each: fewer instructions per character, and less
 * bytecode at the many places they are inlined. V8 inlines only so much bytecode into one
 * function; with two comparisons each, the pair-cue lookup and the non-Latin test stayed calls
 * (~5% of the scan).
 */
const isDigit = (code: number): boolean => (code - 48) >>> 0 < 10;
const isAsciiLetter = (code: number): boolean => ((code | 0x20) - 97) >>> 0 < 26; // a-z after folding case
const isAsciiUpper = (code: number): boolean => (code - 65) >>> 0 < 26;

/** camelCase: an uppercase ASCII letter whose previous ASCII letter in the token is lowercase. */
function hasCamelHump(text: string, start: number, end: number): boolean {
  let previousWasLower = false;
  for (let i = start; i < end; i++) {
    const code = text.charCodeAt(i);
    if (!isAsciiLetter(code)) continue;
    const upper = isAsciiUpper(code);
    if (upper && previousWasLower) return true;
    previousWasLower = !upper;
  }
  return false;
}

function isMathSymbol(code: number): boolean {
  return (
    (code >= 0x2200 && code <= 0x22ff) || // mathematical operators
    (code >= 0x2190 && code <= 0x21ff) || // arrows
    code === 0x00b1 || // ±
    code === 0x00d7 || // ×
    code === 0x00f7 // ÷
  );
}

/** Letters of scripts other than Latin (Greek, Cyrillic, Hebrew, Arabic, Indic, Thai, CJK, Hangul…). */
function isNonLatinLetter(code: number): boolean {
  return (
    (code >= 0x0370 && code <= 0x1fff && !(code >= 0x1e00 && code <= 0x1eff)) ||
    (code >= 0x3040 && code <= 0x9fff) ||
    (code >= 0xac00 && code <= 0xd7af)
  );
}

const isAccentedLatin = (code: number): boolean =>
  (code >= 0x00c0 && code <= 0x024f && code !== 0x00d7 && code !== 0x00f7) || (code >= 0x1e00 && code <= 0x1eff);

/**
 * Classifies the first non-blank character of a line, `code` at `at` followed by `next`: list
 * item, choice option or plain text.
 */
function countLineStart(text: string, at: number, code: number, next: number, counts: Float64Array): void {
  if ((code === 45 || code === 42 || code === 43 || code === 0x2022) && next === 32) {
    counts[LIST_ITEMS]!++; // "- item", "* item", "+ item", "• item"
  } else if (code === 35 && (next === 32 || next === 35)) {
    counts[LIST_ITEMS]!++; // a markdown heading starts a section
  } else if (isDigit(code)) {
    const after = isDigit(next) ? codeAt(text, at + 2) : next;
    if (after === 46 || after === 41) counts[LIST_ITEMS]!++; // "1." or "12)"
  } else if (isAsciiLetter(code) && (next === 46 || next === 41) && !isAsciiLetter(codeAt(text, at + 2))) {
    counts[CHOICE_OPTIONS]!++; // "A." or "b)"
  } else if (code === 40 && isAsciiLetter(next) && codeAt(text, at + 2) === 41) {
    counts[CHOICE_OPTIONS]!++; // "(A)"
  }
}

/**
 * One pass over a text. The loop runs one step past the end with a blank sentinel so the last
 * token ends inside the loop: no closure, so every counter stays in a register-friendly local.
 */
function scanText(text: string, state: ScanState, sink: LexicalSink): void {
  const { counts } = state;
  const { values, mask, buckets } = sink;
  // V8 re-reads an imported binding, and checks that it is initialized, at every use in
  // optimized code; local copies are read once per text (~10% of the scanner's time).
  const step = fnvStep;
  const finalize = mix32;
  const combine = pairHash;
  const lookupCues = cueBits;
  const cueTable = CUE_TABLE;
  const startsPair = STARTS_PAIR;
  let hash = EMPTY_HASH;
  let tokenDigits = 0;
  let tokenLetters = 0;
  let tokenUpper = 0;
  /** Index of the current token's first character; -1 between tokens. */
  let tokenStart = -1;
  let atSentenceStart = true;
  let previousToken = 0;
  let previousStartsPair = false;
  let atLineStart = true;
  let indent = 0;
  let letters = 0;
  let digits = 0;
  let lexicalSum = 0;
  let lexicalTerms = 0;
  let inCodeFence = false;

  const length = text.length;
  for (let i = 0; i <= length; i++) {
    let code = i < length ? text.charCodeAt(i) : 32;
    if (atLineStart) {
      if (code === 32 || code === 9) {
        indent += code === 9 ? 2 : 1;
        continue;
      }
      if (code !== 10 && code !== 13) {
        if (indent >= 2) counts[INDENTED_LINES]!++;
        // A line that starts with a word is plain text unless it is a choice like "A." or "b)":
        // only the other lines are classified. That keeps this call rare, and V8, which inlines
        // a function's most frequent calls first and only so much bytecode, no longer spends
        // its budget on it instead of on the per-word calls (~10% of the scan).
        const next = codeAt(text, i + 1);
        if (!isAsciiLetter(code) || next === 46 || next === 41) countLineStart(text, i, code, next, counts);
      }
      atLineStart = false;
    }
    if (isAsciiLetter(code)) {
      if (tokenStart < 0) tokenStart = i;
      // The whole run of ASCII letters in a tight loop that keeps only the hash, a counter and
      // the position live (the position itself, not an offset from it: one addition and overflow
      // check fewer per letter): most characters of most prompts are spent here. Case is looked
      // at again only when the token ends with an uppercase letter in it.
      const runStart = i;
      let upper = 0;
      let next = code;
      do {
        const folded = next | 0x20;
        hash = step(hash, folded);
        upper += (next ^ folded) >>> 5; // 1 when bit 5 was clear: uppercase
        next = codeAt(text, ++i);
      } while (isAsciiLetter(next));
      tokenLetters += i - runStart;
      tokenUpper += upper;
      // The character that ended the run (0 past the end, which ends the token as the sentinel
      // does) goes on through the cases below, not read a second time.
      code = next;
    }
    if (isDigit(code)) {
      if (tokenStart < 0) tokenStart = i;
      hash = step(hash, code);
      tokenDigits++;
      continue;
    }
    if ((code === 39 || code === 0x2019) && tokenStart >= 0) continue; // "don't" reads as "dont"
    if (code >= 0xc0) {
      const accented = isAccentedLatin(code);
      if (accented || isNonLatinLetter(code)) {
        if (tokenStart < 0) tokenStart = i;
        counts[accented ? ACCENTED : NON_LATIN]!++;
        hash = step(hash, code);
        tokenLetters++;
        continue;
      }
    }

    if (tokenStart >= 0) {
      const isNumber = tokenLetters === 0;
      const tokenHash = isNumber ? NUMBER_HASH : finalize(hash);
      if (isNumber) {
        counts[NUMBERS]!++;
        if (inCodeFence) state.numbersInCode++;
      }
      letters += tokenLetters;
      digits += tokenDigits;
      if (tokenLetters >= LONG_WORD_LETTERS) counts[LONG_WORDS]!++;
      if (tokenUpper > 0) {
        if (tokenLetters >= 2 && tokenUpper === tokenLetters) counts[CAPS_WORDS]!++;
        // A capitalized word inside a sentence: a name, a place, a product.
        if (tokenUpper === 1 && isAsciiUpper(text.charCodeAt(tokenStart))) {
          // Capitalized: its one capital comes first, so it has no camel hump to look for.
          if (tokenLetters >= 2 && !atSentenceStart) counts[PROPER_NOUNS]!++;
        } else if (hasCamelHump(text, tokenStart, i)) {
          counts[IDENTIFIERS]!++;
        }
      }
      // A lone letter other than the words "a" and "I": x, n, f, k — a variable.
      if (tokenLetters === 1 && tokenDigits === 0 && (hash | 0) !== A_HASH && (hash | 0) !== I_HASH) counts[VARIABLES]!++;
      const wordCues = lookupCues(cueTable, tokenHash);
      let cues = wordCues & ~startsPair;
      let bucket = tokenHash & mask;
      lexicalSum += values[bucket]!;
      lexicalTerms++;
      if (buckets !== null) buckets.push(bucket);
      if (lexicalTerms > 1) {
        const pair = combine(previousToken, tokenHash);
        if (previousStartsPair) cues |= lookupCues(cueTable, pair);
        bucket = pair & mask;
        lexicalSum += values[bucket]!;
        lexicalTerms++;
        if (buckets !== null) buckets.push(bucket);
      }
      while (cues !== 0) {
        const lowest = cues & -cues;
        counts[FIRST_CUE + 31 - Math.clz32(lowest)]!++;
        cues ^= lowest;
      }
      previousToken = tokenHash;
      previousStartsPair = (wordCues & startsPair) !== 0;
      atSentenceStart = false;
      hash = EMPTY_HASH;
      tokenStart = -1;
      tokenDigits = 0;
      tokenLetters = 0;
      tokenUpper = 0;
    }

    if (code === 32) continue; // the commonest separator needs none of the cases below
    if (code >= 0xc0) {
      if (isMathSymbol(code)) counts[OPERATORS]!++;
      continue;
    }
    switch (code) {
      case 10:
        counts[LINES]!++;
        atLineStart = true;
        atSentenceStart = true;
        indent = 0;
        break;
      case 46: // .
        if (isDigit(codeAt(text, i - 1)) && isDigit(codeAt(text, i + 1))) counts[DECIMALS]!++;
        else if (isWhitespaceOrEnd(codeAt(text, i + 1))) {
          counts[SENTENCES]!++;
          atSentenceStart = true;
        } else if (isAsciiLetter(codeAt(text, i - 1)) && isAsciiLetter(codeAt(text, i + 1))) {
          counts[IDENTIFIERS]!++; // obj.method, file.py
        }
        break;
      case 33: // !
        if (isWhitespaceOrEnd(codeAt(text, i + 1))) {
          counts[SENTENCES]!++;
          atSentenceStart = true;
        }
        break;
      case 63: // ?
        counts[QUESTIONS]!++;
        counts[SENTENCES]!++;
        atSentenceStart = true;
        break;
      case 47: // /
        if (isDigit(codeAt(text, i - 1)) && isDigit(codeAt(text, i + 1))) counts[FRACTIONS]!++;
        counts[OPERATORS]!++;
        break;
      case 92: // backslash: \frac, \sum, \alpha
        if (isAsciiLetter(codeAt(text, i + 1))) {
          counts[LATEX]!++;
          if (!inCodeFence) state.formalMarks++;
        }
        break;
      case 36: {
        // "$x" or "$\frac" opens inline math; "$2" is money.
        counts[DOLLARS]!++;
        const next = codeAt(text, i + 1);
        const opensMath = isAsciiLetter(next) || next === 92 || next === 40 || next === 45 || next === 123;
        if (opensMath && !inCodeFence) state.formalMarks++;
        break;
      }
      case 37: // %
        counts[PERCENT_SIGNS]!++;
        break;
      case 95: // _ inside a word: snake_case
        if (isAsciiLetter(codeAt(text, i - 1)) && isAsciiLetter(codeAt(text, i + 1))) counts[IDENTIFIERS]!++;
        break;
      case 96: // ```
        if (codeAt(text, i + 1) === 96 && codeAt(text, i + 2) === 96) {
          counts[CODE_FENCES]!++;
          inCodeFence = !inCodeFence;
          i += 2;
        }
        break;
      case 123: // {
      case 125: // }
      case 59: // ;
        counts[CODE_SYMBOLS]!++;
        break;
      case 94: // ^
        if (!inCodeFence) state.formalMarks++;
        counts[OPERATORS]!++;
        break;
      case 43: // +
      case 42: // *
      case 61: // =
      case 60: // <
      case 62: // >
        counts[OPERATORS]!++;
        break;
      default:
        break;
    }
  }
  counts[CHARS]! += length;
  counts[DIGITS]! += digits;
  state.letters += letters;
  state.lexicalSum += lexicalSum;
  state.lexicalTerms += lexicalTerms;
}

function partKind(part: ScoringContentPart): 'text' | 'image' | 'file' | 'other' {
  switch (part.type) {
    case 'text':
    case 'input_text':
    case 'output_text':
      return 'text';
    case 'image_url':
    case 'image':
    case 'input_image':
      return 'image';
    case 'file':
    case 'input_file':
    case 'document':
    case 'input_audio':
    case 'audio':
      return 'file';
    default:
      return 'other';
  }
}

function structuredOutputOf(responseFormat: unknown): number {
  if (typeof responseFormat !== 'object' || responseFormat === null) return 0;
  const type = (responseFormat as { type?: unknown }).type;
  return type === 'json_schema' || type === 'json_object' ? 1 : 0;
}

function requestedOutputOf(request: ScoringRequest): number {
  const maxTokens = request.max_completion_tokens ?? request.max_tokens;
  if (typeof maxTokens !== 'number' || !(maxTokens > ORDINARY_OUTPUT_TOKENS)) return 0;
  return Math.log2(maxTokens / ORDINARY_OUTPUT_TOKENS);
}

/**
 * The format, from raw counts: options first, then formal notation, then quantities. Code in
 * fences does not count: its carets and dollar signs are not math, its digits not quantities.
 */
function formatOf(counts: Float64Array, state: ScanState): number {
  if (counts[CHOICE_OPTIONS]! >= 2) return MULTIPLE_CHOICE;
  if (state.formalMarks >= 1) return FORMAL_MATH;
  if (counts[NUMBERS]! - state.numbersInCode + counts[NUMBER_WORDS]! >= 2) return WORD_PROBLEM;
  return OPEN;
}

/**
 * Extracts every feature of `request`. `sink` supplies the lexical values to sum (and, when
 * fitting, collects the lexical buckets). The values are written to `into`, zeroed first: a
 * caller that is done with them before the next call can pass the same array every time.
 */
export function extractFeatures(
  request: ScoringRequest,
  sink: LexicalSink,
  into: Float64Array = new Float64Array(FEATURES.length),
): FeatureVector {
  const counts = into.fill(0);
  const state: ScanState = { counts, letters: 0, formalMarks: 0, numbersInCode: 0, lexicalSum: 0, lexicalTerms: 0 };
  let systemChars = 0;
  let turns = 0;
  let toolCalls = 0;
  const messages = Array.isArray(request.messages) ? request.messages : [];
  for (const message of messages) {
    const { role, content } = message;
    const isSystem = role === 'system' || role === 'developer';
    if (role === 'user' || role === 'assistant') turns++;
    if (role === 'tool' || role === 'function') toolCalls++;
    if (Array.isArray(message.tool_calls)) toolCalls += message.tool_calls.length;
    const charsBefore = counts[CHARS]!;
    if (typeof content === 'string') {
      scanText(content, state, sink);
    } else if (Array.isArray(content)) {
      for (const part of content) {
        const kind = partKind(part);
        if (kind === 'text' && typeof part.text === 'string') scanText(part.text, state, sink);
        else if (kind === 'image') counts[IMAGES]!++;
        else if (kind === 'file') counts[FILES]!++;
      }
    }
    if (isSystem) systemChars += counts[CHARS]! - charsBefore;
  }
  counts[SYSTEM_PROMPT] = systemChars;
  counts[CONVERSATION_DEPTH] = Math.max(0, turns - 1);
  counts[TOOLS] = Array.isArray(request.tools) ? request.tools.length : 0;
  counts[TOOL_CALLS] = toolCalls;
  counts[STRUCTURED_OUTPUT] = structuredOutputOf(request.response_format);
  counts[REQUESTED_OUTPUT] = requestedOutputOf(request);
  counts[QUANTITIES_MENTIONED] = counts[NUMBERS]! + counts[NUMBER_WORDS]!;
  counts[CODE_FENCES] = Math.floor(counts[CODE_FENCES]! / 2 + 0.5); // a fence pair is one block
  const format = formatOf(counts, state);
  const letters = state.letters;
  counts[NON_LATIN] = letters === 0 ? 0 : counts[NON_LATIN]! / letters;
  counts[ACCENTED] = letters === 0 ? 0 : counts[ACCENTED]! / letters;
  for (let i = 0; i < counts.length; i++) {
    const count = counts[i]!;
    if (IS_COUNT[i] === 1 && count !== 0) {
      // log1p(0) is 0. Counts are whole numbers; the table holds the common ones.
      const tabled = count >>> 0 === count && count < LOG1P_OF_COUNT.length;
      counts[i] = tabled ? LOG1P_OF_COUNT[count]! : Math.log1p(count);
    }
  }
  return { values: counts, format, lexicalSum: state.lexicalSum, lexicalTerms: state.lexicalTerms };
}
