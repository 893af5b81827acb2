/**
 * The sim's tokenizer. It is not any provider's BPE; it is a simple, documented rule so that
 * tests can compute exact usage numbers by hand:
 *
 *   - a run of letters, digits or underscores is one token per started 8 characters
 *     ("hello" = 1, "internationalization" = 3);
 *   - every other non-whitespace character is one token ("," "{" "é"→letter, "🙂" = 1);
 *   - whitespace costs nothing (when text is split for streaming, it travels with the token
 *     that follows it).
 *
 * So "Hello, world!" is 4 tokens: `Hello` `,` `world` `!`.
 */

const MAX_WORD_PIECE = 8;

const SPACE = 0;
const WORD = 1;
const OTHER = 2;
type CharClass = typeof SPACE | typeof WORD | typeof OTHER;

const ASCII_CLASS: Uint8Array = (() => {
  const table = new Uint8Array(128).fill(OTHER);
  for (const code of [9, 10, 11, 12, 13, 32]) table[code] = SPACE;
  for (let c = 48; c <= 57; c++) table[c] = WORD;
  for (let c = 65; c <= 90; c++) table[c] = WORD;
  for (let c = 97; c <= 122; c++) table[c] = WORD;
  table[95] = WORD;
  return table;
})();

const UNICODE_WORD = /^[\p{L}\p{N}\p{M}]$/u;
const UNICODE_SPACE = /^\s$/u;
const unicodeClassCache = new Map<number, CharClass>();

function classOf(codePoint: number): CharClass {
  if (codePoint < 128) return ASCII_CLASS[codePoint] as CharClass;
  let cls = unicodeClassCache.get(codePoint);
  if (cls === undefined) {
    const char = String.fromCodePoint(codePoint);
    cls = UNICODE_SPACE.test(char) ? SPACE : UNICODE_WORD.test(char) ? WORD : OTHER;
    unicodeClassCache.set(codePoint, cls);
  }
  return cls;
}

/**
 * Walks the tokens of `text`, calling `onToken(start, end)` (UTF-16 offsets) for each one when
 * given, and returns the count. One pass, no allocation on ASCII text.
 */
export function scanTokens(text: string, onToken?: (start: number, end: number) => void): number {
  let count = 0;
  let i = 0;
  const length = text.length;
  while (i < length) {
    const codePoint = text.codePointAt(i) as number;
    const width = codePoint > 0xffff ? 2 : 1;
    const cls = classOf(codePoint);
    if (cls === SPACE) {
      i += width;
      continue;
    }
    if (cls === OTHER) {
      count++;
      onToken?.(i, i + width);
      i += width;
      continue;
    }
    // A word run, cut every MAX_WORD_PIECE code points.
    let start = i;
    let pieceLength = 0;
    while (i < length) {
      const cp = text.codePointAt(i) as number;
      if (classOf(cp) !== WORD) break;
      if (pieceLength === MAX_WORD_PIECE) {
        count++;
        onToken?.(start, i);
        start = i;
        pieceLength = 0;
      }
      i += cp > 0xffff ? 2 : 1;
      pieceLength++;
    }
    count++;
    onToken?.(start, i);
  }
  return count;
}

/** Number of tokens in `text` under the sim's rule (see the module comment). */
export function countTokens(text: string): number {
  return scanTokens(text);
}

/**
 * Splits text into one string per token for streaming: each piece carries the whitespace that
 * precedes its token, and the last piece also carries any trailing whitespace, so the pieces
 * concatenate back to exactly `text`.
 */
export function splitTokenPieces(text: string): string[] {
  const pieces: string[] = [];
  let previousEnd = 0;
  scanTokens(text, (_start, end) => {
    pieces.push(text.slice(previousEnd, end));
    previousEnd = end;
  });
  if (previousEnd < text.length) {
    if (pieces.length === 0) pieces.push(text);
    else pieces[pieces.length - 1] += text.slice(previousEnd);
  }
  return pieces;
}

/** The prefix of `text` holding its first `maxTokens` tokens (no trailing whitespace). */
export function truncateToTokens(text: string, maxTokens: number): string {
  if (maxTokens <= 0) return '';
  let cut = -1;
  let seen = 0;
  scanTokens(text, (_start, end) => {
    seen++;
    if (seen === maxTokens) cut = end;
  });
  return cut === -1 ? text : text.slice(0, cut);
}
