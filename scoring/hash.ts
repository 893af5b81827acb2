/**
 * 32-bit hashing shared by the feature scanner, the cue lexicon and calibration, so that a
 * word hashes to the same bucket at fit time and at run time, on every platform.
 */

/** FNV-1a offset basis: the hash of the empty token. */
export const FNV_OFFSET = 0x811c9dc5;

/** Folds one UTF-16 code unit into an FNV-1a hash. */
export function fnvStep(hash: number, code: number): number {
  return Math.imul(hash ^ code, 0x01000193);
}

/** murmur3's finalizer: spreads every input bit over the low bits used as a table index. */
export function mix32(hash: number): number {
  let h = hash;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The hash of an ordered pair of token hashes (a bigram). */
export function pairHash(first: number, second: number): number {
  return mix32(Math.imul(first ^ 0x9e3779b9, 0x01000193) ^ second);
}

/**
 * The token hash the scanner computes for a lowercase word: FNV-1a over its code units,
 * finalized. Used to build lookup tables from word lists.
 */
export function wordHash(word: string): number {
  let hash = FNV_OFFSET;
  for (let i = 0; i < word.length; i++) hash = fnvStep(hash, word.charCodeAt(i));
  return mix32(hash);
}
