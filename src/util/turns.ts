const schedule: (callback: () => void) => unknown =
  (globalThis as { setImmediate?: (callback: () => void) => unknown }).setImmediate ?? ((callback) => setTimeout(callback, 0));

/** Resolves once the current turn of the event loop is done, after the I/O already pending: Node's check phase, a 0 ms timer elsewhere (Workers). */
export const nextTurn = (): Promise<void> => new Promise((resolve) => schedule(resolve));
