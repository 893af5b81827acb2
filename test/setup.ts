// Tests must never reach the internet: any request that is not to loopback fails loudly.
const realFetch = globalThis.fetch;
globalThis.fetch = (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
  const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
  if (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost' && url.hostname !== '[::1]') {
    throw new Error(`network disabled in tests: ${url.href}`);
  }
  return realFetch(input, init);
}) as typeof fetch;
