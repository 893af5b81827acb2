import type { SluiceError } from '../errors';

/** Parses a 2xx upstream body; one that is not JSON is the upstream's fault, reported as `malformed` says. */
export function parseUpstreamJson(body: string, malformed: (what: string) => SluiceError): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    throw malformed('a body that is not JSON');
  }
}
