/**
 * At most `max` pieces of work at once; the rest wait their turn in arrival order. With a `queue` bound, work
 * arriving when that many already wait is refused at once with the error `full()` makes, rather than waiting
 * behind a flood and holding its memory.
 */
export class ConcurrencyLimit {
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(
    private readonly max: number,
    private readonly bound?: { queue: number; full: () => Error },
  ) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#running >= this.max) {
      if (this.bound && this.#waiting.length >= this.bound.queue) throw this.bound.full();
      // The slot is handed over by the finishing work (#running stays counted), so nobody can overtake.
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running++;
    }
    try {
      return await work();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }
}
