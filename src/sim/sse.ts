/** Server-sent-events framing, as OpenAI and Anthropic stream. */

export const SSE_CONTENT_TYPE = 'text/event-stream; charset=utf-8';

/** `data: {...}` (OpenAI style: no event names). */
export function sseData(value: unknown): string {
  return `data: ${JSON.stringify(value)}\n\n`;
}

/** `event: name` + `data: {...}` (Anthropic style). */
export function sseEvent(event: string, value: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(value)}\n\n`;
}

/** A data line whose JSON is cut in half, for the `bad-json` fault. */
export function sseMalformed(event: string | null, value: unknown): string {
  const json = JSON.stringify(value);
  const data = `data: ${json.slice(0, Math.floor(json.length / 2))}\n\n`;
  return event === null ? data : `event: ${event}\n${data}`;
}
