/** Counts the starts of `ids` in one statement; resolves with the ids still held (counted). */
export type RecordStarts = (ids: string[]) => Promise<string[]>;

/**
 * Coalesces the starts of one batch's tries: each aggregate's first try starts at once, later ones whenever the
 * try before them ends, so starts asked for while a statement runs (or in the same turn of the event loop) go
 * together in the next statement instead of one statement per event. `start(id)` resolves true when the try
 * was counted and may be made, false when the claim no longer holds the event or the count could not be
 * written (the event is then left for its lease to expire: nothing was sent, nothing counted).
 */
export function coalescedStarts(
  record: RecordStarts,
  onError: (err: unknown) => void,
): (id: string) => Promise<boolean> {
  let waiting = new Map<string, (started: boolean) => void>();
  let flushing = false;

  async function flush(): Promise<void> {
    // One turn of the event loop, so the starts of one wave (the first try of every aggregate) go together.
    await new Promise((resolve) => setTimeout(resolve, 0));
    while (waiting.size > 0) {
      const wave = waiting;
      waiting = new Map();
      const counted = await record([...wave.keys()]).catch((err: unknown) => {
        onError(err);
        return [] as string[];
      });
      const held = new Set(counted);
      for (const [id, resolve] of wave) resolve(held.has(id));
    }
    flushing = false;
  }

  return (id: string) =>
    new Promise<boolean>((resolve) => {
      waiting.set(id, resolve);
      if (!flushing) {
        flushing = true;
        void flush();
      }
    });
}
