import type { ServiceTier } from '../catalog/types';
import type { ChatCompletionChunk } from '../gateway/chat';
import type { Usage } from '../gateway/usage';
import { UpstreamStreamError } from './stream-error';
import type { StreamDecoder, UpstreamFailure } from './types';

/**
 * A pass-through stream: the upstream's bytes go to the caller exactly as they arrive, while the
 * adapter's own decoder reads them on the side for usage, tier and output counts (and the
 * canonical chunks, for the response cache). An error event in the stream reaches the caller as
 * the upstream sent it and is kept as `failure` for the ledger.
 */
export class StreamTap implements StreamDecoder<Uint8Array> {
  failure: UpstreamFailure | undefined;

  constructor(
    private readonly decoder: StreamDecoder<ChatCompletionChunk>,
    private readonly chunks?: { push(chunk: ChatCompletionChunk): void },
  ) {}

  push(bytes: Uint8Array): Uint8Array[] {
    this.watch(() => this.decoder.push(bytes));
    return [bytes];
  }

  end(): Uint8Array[] {
    this.watch(() => this.decoder.end());
    return [];
  }

  private watch(read: () => ChatCompletionChunk[]): void {
    if (this.failure) return;
    try {
      for (const chunk of read()) this.chunks?.push(chunk);
    } catch (error) {
      if (!(error instanceof UpstreamStreamError)) throw error;
      this.failure = error.failure;
    }
  }

  get usage(): Usage | undefined {
    return this.decoder.usage;
  }

  get reportedInputTokens(): number | undefined {
    return this.decoder.reportedInputTokens;
  }

  get servedTier(): ServiceTier {
    return this.decoder.servedTier;
  }

  get outputChars(): number {
    return this.decoder.outputChars;
  }

  get outputEvents(): number {
    return this.decoder.outputEvents;
  }
}
