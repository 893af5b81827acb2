import type { UpstreamFailure } from './types';

/** An error the upstream reported inside an already-started stream. */
export class UpstreamStreamError extends Error {
  override name = 'UpstreamStreamError';
  constructor(readonly failure: UpstreamFailure) {
    super(failure.message);
  }
}
