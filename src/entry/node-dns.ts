// Node-only: name resolution for the webhook SSRF guard (injected as Deps.resolveHost).
import { lookup } from 'node:dns/promises';

/** Every address the system resolver returns for a host (IPv4 and IPv6), so each can be vetted. */
export async function resolveHost(hostname: string): Promise<string[]> {
  const answers = await lookup(hostname, { all: true, verbatim: true });
  return answers.map((answer) => answer.address);
}
