/**
 * One call through the Node transport, in a process started with NODE_EXTRA_CA_CERTS (how a test
 * certificate becomes trusted). Prints one JSON line: the answer's status and body, or the error.
 * Usage: node --import tsx test/helpers/https-transport.ts <url> [pinned address]
 */
import { createNodeTransport } from '../../src/entry/node-transport';

const [url, address] = process.argv.slice(2) as [string, string | undefined];
const { transport, close } = createNodeTransport();
try {
  const response = await transport({ method: 'GET', url, headers: {}, timeoutMs: 5_000, ...(address ? { address } : {}) });
  console.log(JSON.stringify({ status: response.status, body: await response.text() }));
} catch (error) {
  console.log(JSON.stringify({ error: (error as Error).message }));
} finally {
  close();
}
