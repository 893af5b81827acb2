/**
 * A streamed answer as the pipeline hands it to a front door. Writers take it a batch at a
 * time: everything one upstream read decoded to, so a stream of dozens of chunks costs one await
 * and one socket write per upstream read instead of per chunk. It is also an AsyncIterable of
 * single items, for readers that want them one by one.
 */
export interface ItemStream<T> extends AsyncIterable<T> {
  /** The next decoded items (never empty), or undefined once the stream has ended. Throws the stream's failure. */
  nextBatch(): Promise<readonly T[] | undefined>;
  /** The caller stopped reading: releases the upstream (the pipeline records the request as aborted). */
  cancel(): void;
}

/** Iterates an ItemStream item by item; leaving the loop early cancels it. */
export async function* itemsOf<T>(stream: Pick<ItemStream<T>, 'nextBatch' | 'cancel'>): AsyncGenerator<T> {
  let ended = false;
  try {
    for (;;) {
      const batch = await stream.nextBatch();
      if (!batch) {
        ended = true;
        return;
      }
      for (const item of batch) yield item;
    }
  } finally {
    if (!ended) stream.cancel();
  }
}

/** An answer that is already complete (a response-cache hit replayed as a stream): one batch. */
export function completeStream<T>(items: readonly T[]): ItemStream<T> {
  let taken = false;
  const stream: ItemStream<T> = {
    nextBatch: () => {
      const batch = taken || items.length === 0 ? undefined : items;
      taken = true;
      return Promise.resolve(batch);
    },
    cancel: () => {
      taken = true;
    },
    [Symbol.asyncIterator]: () => itemsOf(stream),
  };
  return stream;
}
