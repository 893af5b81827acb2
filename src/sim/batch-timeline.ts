/**
 * Batch progress on the injected clock. A batch's items are worked through evenly during its
 * processing window, so a batch cancelled or expired halfway has about half of its results.
 */

export function itemsProcessedBy(total: number, processingStartMs: number, processingMs: number, atMs: number): number {
  if (atMs < processingStartMs) return 0;
  if (processingMs <= 0 || atMs >= processingStartMs + processingMs) return total;
  return Math.floor((total * (atMs - processingStartMs)) / processingMs);
}

export const COMPLETION_WINDOW_MS = 24 * 60 * 60_000;
