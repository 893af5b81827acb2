/** Splits a list into lists of at most `size` (e.g. ids for `IN (...)`, within SQLite's bound-parameter limit). */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
