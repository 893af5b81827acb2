/**
 * How the sim prices the parts of a prompt that are not plain text. These are the sim's own
 * documented rules (exact and stable), not the providers' formulas:
 *
 *   - every message costs MESSAGE_OVERHEAD_TOKENS for its framing (role markers);
 *   - OpenAI adds REPLY_PRIMING_TOKENS once for the assistant turn it primes; a `name` costs 1 + its tokens;
 *   - an image costs IMAGE_TOKENS (IMAGE_TOKENS_LOW_DETAIL with OpenAI's `detail: "low"`);
 *   - inline binary data (audio, PDF, other documents) costs 1 token per 100 base64 characters (min 1);
 *   - a file or document referenced by id or URL, whose bytes the sim cannot see, costs REFERENCED_FILE_TOKENS;
 *   - tool definitions cost the tokens of their JSON text.
 */

export const MESSAGE_OVERHEAD_TOKENS = 3;
export const REPLY_PRIMING_TOKENS = 3;
export const IMAGE_TOKENS = 765;
export const IMAGE_TOKENS_LOW_DETAIL = 85;
export const REFERENCED_FILE_TOKENS = 256;

export function inlineDataTokens(base64: string): number {
  return Math.max(1, Math.ceil(base64.length / 100));
}
