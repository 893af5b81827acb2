import { readAll, TransportError, type Transport, type UpstreamResponse } from './transport';

async function* iterate(stream: ReadableStream<Uint8Array> | null): AsyncIterable<Uint8Array> {
  if (!stream) return;
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/** The Web-standard transport (Workers, and anywhere `fetch` is the best client available). */
export function createFetchTransport(fetchImpl: typeof fetch = fetch): Transport {
  return async (request) => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new TransportError('timeout', 'upstream timed out')), request.timeoutMs);
    const onCallerAbort = (): void => controller.abort(new TransportError('aborted', 'request aborted'));
    request.signal?.addEventListener('abort', onCallerAbort, { once: true });
    let response: Response;
    try {
      response = await fetchImpl(request.url, {
        method: request.method,
        headers: request.headers,
        body: request.body ?? null,
        signal: controller.signal,
      });
    } catch (error) {
      const reason: unknown = controller.signal.reason;
      if (reason instanceof TransportError) throw reason;
      throw new TransportError('connection', `upstream unreachable: ${(error as Error).message}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      headers[name] = value;
    });
    const body = iterate(response.body);
    const upstream: UpstreamResponse = {
      status: response.status,
      headers,
      body,
      text: () => readAll(body),
      abort: () => controller.abort(new TransportError('aborted', 'request aborted')),
    };
    return upstream;
  };
}
