const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i;

/**
 * Parses an ISO 8601 instant (with an explicit offset) or a date (`YYYY-MM-DD`, meaning 00:00 UTC)
 * to epoch milliseconds; undefined when it is neither.
 */
export function parseInstant(value: string): number | undefined {
  const v = value.trim();
  if (DATE_ONLY.test(v)) {
    const ms = Date.parse(`${v}T00:00:00Z`);
    return Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== v ? undefined : ms;
  }
  if (!ISO_INSTANT.test(v)) return undefined;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? undefined : ms;
}
