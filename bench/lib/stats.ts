// Small statistics for the benchmark tables: quantiles of samples, medians and ranges over repetitions.

/** The q-quantile (0..1) of samples (nearest rank); NaN when empty. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function fixed(value: number | null | undefined, digits: number): string {
  return value == null || Number.isNaN(value) ? '–' : value.toFixed(digits);
}

/** "median [min–max]" over repetitions, or the median alone for one repetition. */
export function spread(values: ReadonlyArray<number | null>, digits: number): string {
  const present = values.filter((v): v is number => v != null && !Number.isNaN(v));
  if (present.length === 0) return '–';
  const mid = fixed(median(present), digits);
  if (present.length === 1) return mid;
  return `${mid} [${fixed(Math.min(...present), digits)}–${fixed(Math.max(...present), digits)}]`;
}
